import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { send } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";

// Bulk sends fan out through the send queue into the session's outbox, which sends one at a
// time, paced by delay_between, and survives a restart of the session object mid-burst.

async function messagesOf(key: string, campaignId: string) {
  const rows: any[] = [];
  let cursor: string | null = null;
  do {
    const res = await call("GET", `/v1/whatsapp/messages?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { key });
    expect(res.status, res.text).toBe(200);
    rows.push(...res.json.data.filter((m: any) => m.campaign_id === campaignId));
    cursor = res.json.meta.next_cursor;
  } while (cursor);
  return rows;
}

async function waitForCampaign(key: string, campaignId: string, total: number, timeout: number) {
  await expect
    .poll(
      async () => {
        const c = (await call("GET", `/v1/whatsapp/campaigns/${campaignId}`, { key })).json;
        const counts = c?.campaign?.counts ?? c?.data?.counts ?? {};
        return (counts.sent ?? 0) + (counts.delivered ?? 0) + (counts.read ?? 0) + (counts.failed ?? 0);
      },
      { timeout, interval: 250 },
    )
    .toBe(total);
}

async function phones(key: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await createPhone(key, { receipt_policy: { delivered: "manual", read: "manual" } })).phone_number);
  return out;
}

describe("campaigns", () => {
  it("sends a 200-recipient campaign exactly once each, spaced by delay_between", async () => {
    const account = await createAccount({ plan: "pro", balance: 100_000 });
    const { session } = await linkedSession(account.key);
    const recipients = await phones(account.key, 200);
    const delay = 25;
    const res = await send(account.key, {
      whatsapp_session_id: session.id,
      to_number: recipients,
      type: "text",
      content: "Flash sale: 20% off today",
      delay_between: delay,
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.data.count).toBe(200);
    const campaignId = res.json.data.campaign_id;

    await waitForCampaign(account.key, campaignId, 200, 120_000);
    const rows = await messagesOf(account.key, campaignId);
    expect(rows).toHaveLength(200);
    expect(rows.every((m) => m.status === "sent")).toBe(true);
    expect(new Set(rows.map((m) => m.provider_message_id)).size).toBe(200);

    const sentAt = rows.map((m) => Date.parse(m.sent_at)).sort((a, b) => a - b);
    for (let i = 1; i < sentAt.length; i++) expect(sentAt[i] - sentAt[i - 1]).toBeGreaterThanOrEqual(delay);

    // Each contact got it exactly once.
    for (const phone of recipients.slice(0, 20)) {
      const inbox = (await call("GET", `/v1/sandbox/phones/${phone}/inbox`, { key: account.key })).json.messages;
      expect(inbox.filter((m: any) => m.text === "Flash sale: 20% off today")).toHaveLength(1);
    }
  }, 240_000);

  it("loses and duplicates nothing when the session object restarts mid-campaign", async () => {
    const account = await createAccount({ plan: "pro", balance: 100_000 });
    const { session } = await linkedSession(account.key);
    const recipients = await phones(account.key, 40);
    const res = await send(account.key, {
      whatsapp_session_id: session.id,
      to_number: recipients,
      type: "text",
      content: "Restart-proof",
      delay_between: 50,
    });
    expect(res.status, res.text).toBe(201);
    const campaignId = res.json.data.campaign_id;

    // Let part of the burst go out, then kill the object (as a deploy would).
    await expect
      .poll(async () => (await messagesOf(account.key, campaignId)).filter((m) => m.status === "sent").length, { timeout: 30_000, interval: 50 })
      .toBeGreaterThan(5);
    const stub = env.SESSION.get(env.SESSION.idFromName(session.id));
    await runInDurableObject(stub, (_, state) => state.abort("deploy")).catch(() => {});

    await waitForCampaign(account.key, campaignId, 40, 120_000);
    const rows = await messagesOf(account.key, campaignId);
    expect(rows.every((m) => m.status === "sent")).toBe(true);
    for (const phone of recipients) {
      const inbox = (await call("GET", `/v1/sandbox/phones/${phone}/inbox`, { key: account.key })).json.messages;
      expect(inbox.filter((m: any) => m.text === "Restart-proof"), phone).toHaveLength(1);
    }
  }, 180_000);
});
