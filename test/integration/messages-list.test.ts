import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { failMessages, markMessageSent } from "../../src/db/messages.status";
import { insertIncomingMessage } from "../../src/db/messages.incoming";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession, farFuture, numbers, send } from "../helpers/messages";

let a: TestAccount;
let b: TestAccount;
let session: { id: string; session_id: string; phone_number: string };
let otherSession: { id: string };
let campaign: { id: string; ids: string[] };
let incomingId: string;
let startedAt: string;

const list = (key: string, query = "", path = "/v1/whatsapp/messages") => call("GET", `${path}${query}`, { key });
const ids = (res: { json: any }) => res.json.data.map((m: any) => m.id);

beforeAll(async () => {
  startedAt = new Date().toISOString();
  a = await createAccount({ balance: 100_000, message_cost: 10, plan: "pro" });
  b = await createAccount({ balance: 100_000, message_cost: 10, plan: "pro" });
  [session, otherSession] = await Promise.all([connectedSession(a.key), connectedSession(a.key)]);
  await connectedSession(b.key).then((s) => send(b.key, { whatsapp_session_id: s.id, to_number: ["+14155550001"], type: "text", content: "b", scheduled_at: farFuture() }));

  const base = { whatsapp_session_id: session.id, scheduled_at: farFuture() };
  const res = await send(a.key, { ...base, to_number: numbers(3, 500), type: "text", content: "campaign" });
  campaign = { id: res.json.data.campaign_id, ids: res.json.data.messages.map((m: any) => m.id) };
  for (let i = 0; i < 20; i++) await send(a.key, { ...base, to_number: numbers(1, i), type: "text", content: `n${i}` });
  await send(a.key, { ...base, to_number: ["+14155550001"], type: "poll", poll: { name: "q", options: ["a", "b"] } });
  await send(a.key, { ...base, whatsapp_session_id: otherSession.id, to_number: ["+14155550001"], type: "text", content: "other session" });
  const incoming = await insertIncomingMessage(database(env), {
    accountId: a.id,
    whatsappSessionId: session.id,
    providerMessageId: `3EB0${crypto.randomUUID().replace(/-/g, "").toUpperCase()}`,
    fromNumber: "14155559999",
    toNumber: session.phone_number,
    type: "text",
    content: "hi there",
    receivedAtIso: new Date().toISOString(),
  });
  incomingId = incoming!.id;
}, 90_000);

describe("GET /v1/whatsapp/messages", () => {
  it("pages newest first with a cursor, 10 by default, without gaps or repeats", async () => {
    const first = await list(a.key);
    expect(first.status, first.text).toBe(200);
    expect(first.json).toMatchObject({ success: true, meta: { count: 10, limit: 10, next_cursor: expect.any(String) } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(a.key, `?limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...ids(page));
      cursor = page.json.meta.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(26);
    expect(new Set(seen).size).toBe(26);
    const created = (await list(a.key, "?limit=100")).json.data.map((m: any) => m.created_at);
    expect([...created].sort().reverse()).toEqual(created);
  });

  it("filters by every list filter", async () => {
    const to = await list(a.key, `?filter[to_number][]=${encodeURIComponent(numbers(3, 500)[0])}&filter[to_number][]=${numbers(3, 500)[1].slice(1)}`);
    expect(ids(to).sort()).toEqual(campaign.ids.slice(0, 2).sort());

    const incoming = await list(a.key, "?filter[direction]=incoming");
    expect(ids(incoming)).toEqual([incomingId]);
    expect((await list(a.key, "?filter[from_number]=+14155559999")).json.data.map((m: any) => m.id)).toEqual([incomingId]);

    const polls = await list(a.key, "?filter[type]=poll");
    expect(polls.json.data.map((m: any) => m.type)).toEqual(["poll"]);

    const scheduled = await list(a.key, "?filter[status]=scheduled&limit=100");
    expect(scheduled.json.meta.count).toBe(25);

    const bySession = await list(a.key, `?session_id=${otherSession.id}`);
    expect(bySession.json.data.map((m: any) => m.content)).toEqual(["other session"]);
    const byString = await list(a.key, `?session_id=session_${otherSession.id}`);
    expect(ids(byString)).toEqual(ids(bySession));
    const byPath = await list(a.key, "?limit=100", `/v1/whatsapp/messages/${session.session_id}/session`);
    expect(byPath.json.meta.count).toBe(25);

    const campaignOnly = await list(a.key, `?filter[campaign_id]=${campaign.id}`);
    expect(ids(campaignOnly).sort()).toEqual([...campaign.ids].sort());
  });

  it("filters by time range", async () => {
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await list(a.key, `?time_from=${future}`)).json.meta.count).toBe(0);
    expect((await list(a.key, `?time_from=${startedAt}&limit=100`)).json.meta.count).toBe(26);
    expect((await list(a.key, `?time_to=${startedAt}`)).json.meta.count).toBe(0);
  });

  it("422 for bad filters, limit or cursor", async () => {
    expect((await list(a.key, "?limit=101")).status).toBe(422);
    expect((await list(a.key, "?filter[status]=lost")).json.error.details[0].field).toBe("filter.status");
    expect((await list(a.key, "?filter[to_number][]=12")).json.error.details[0].field).toBe("filter.to_number.0");
    expect((await list(a.key, "?cursor=garbage")).json.error.details[0].field).toBe("cursor");
    expect((await list(a.key, "?time_from=yesterday")).status).toBe(422);
  });
});

describe("tenant isolation", () => {
  it("never lists, shows, revokes or counts another account's messages", async () => {
    const theirs = await list(b.key, "?limit=100");
    expect(theirs.json.data.map((m: any) => m.content)).toEqual(["b"]);
    expect((await call("GET", `/v1/whatsapp/messages/${campaign.ids[0]}`, { key: b.key })).status).toBe(404);
    expect((await call("DELETE", `/v1/whatsapp/messages/${campaign.ids[0]}`, { key: b.key })).status).toBe(404);
    expect((await call("GET", `/v1/whatsapp/campaigns/${campaign.id}`, { key: b.key })).status).toBe(404);
    expect((await list(b.key, "", `/v1/whatsapp/messages/${session.id}/session`)).status).toBe(404);
    expect((await list(b.key, `?session_id=${session.id}`)).status).toBe(404);
  });
});

describe("GET /v1/whatsapp/campaigns/{id}", () => {
  it("counts messages per status and reports progress", async () => {
    const db = database(env);
    await markMessageSent(db, campaign.ids[0], `3EB0${crypto.randomUUID().replace(/-/g, "").toUpperCase()}`, new Date().toISOString());
    await failMessages(db, [campaign.ids[1]], "test");
    const res = await call("GET", `/v1/whatsapp/campaigns/${campaign.id}`, { key: a.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.campaign).toMatchObject({
      id: campaign.id,
      whatsapp_session_id: session.id,
      type: "text",
      total: 3,
      delay_between: 500,
      counts: { queued: 0, scheduled: 1, sent: 1, delivered: 0, read: 0, failed: 1 },
      progress: { done: 2, percent: 66.7 },
    });
  });
});
