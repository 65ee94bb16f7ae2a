import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession, farFuture, numbers, send } from "../helpers/messages";

// GET /v1/whatsapp/campaigns: the account's own campaigns, newest first, in cursor pages, each
// presented as GET /campaigns/{id} presents it. Scheduled far ahead so the counts stay put.

let a: TestAccount;
let b: TestAccount;
const mine: string[] = []; // campaign ids of account a, oldest first

beforeAll(async () => {
  a = await createAccount({ plan: "pro", balance: 10_000 });
  b = await createAccount({ plan: "pro", balance: 10_000 });
  const session = await connectedSession(a.key);
  for (let i = 0; i < 3; i++) {
    const res = await send(a.key, { whatsapp_session_id: session.id, to_number: numbers(i + 1, i * 10), type: "text", content: `c${i}`, scheduled_at: farFuture() });
    if (res.status !== 201) throw new Error(`send: ${res.status} ${res.text}`);
    mine.push(res.json.data.campaign_id);
  }
}, 60_000);

describe("GET /v1/whatsapp/campaigns", () => {
  it("pages the account's campaigns newest first, each as GET /campaigns/{id} shows it", async () => {
    const first = await call("GET", "/v1/whatsapp/campaigns?limit=2", { key: a.key });
    expect(first.status, first.text).toBe(200);
    expect(first.json.campaigns.map((c: any) => c.id)).toEqual([mine[2], mine[1]]);
    expect(first.json.next_cursor).toEqual(expect.any(String));

    const second = await call("GET", `/v1/whatsapp/campaigns?limit=2&cursor=${encodeURIComponent(first.json.next_cursor)}`, { key: a.key });
    expect(second.status, second.text).toBe(200);
    expect(second.json.campaigns.map((c: any) => c.id)).toEqual([mine[0]]);
    expect(second.json.next_cursor).toBeNull();

    const one = await call("GET", `/v1/whatsapp/campaigns/${mine[2]}`, { key: a.key });
    expect(first.json.campaigns[0]).toEqual(one.json.campaign);
    expect(one.json.campaign.total).toBe(3);
    expect(one.json.campaign.counts.scheduled).toBe(3);
  });

  it("shows another account none of them, and refuses their ids", async () => {
    const list = await call("GET", "/v1/whatsapp/campaigns", { key: b.key });
    expect(list.status, list.text).toBe(200);
    expect(list.json.campaigns).toEqual([]);
    expect(list.json.next_cursor).toBeNull();
    const other = await call("GET", `/v1/whatsapp/campaigns/${mine[0]}`, { key: b.key });
    expect(other.status).toBe(404);
  });

  it("refuses a cursor it did not issue", async () => {
    const res = await call("GET", "/v1/whatsapp/campaigns?cursor=not-a-cursor", { key: a.key });
    expect(res.status).toBe(422);
    expect(res.json.error.details[0].field).toBe("cursor");
  });
});
