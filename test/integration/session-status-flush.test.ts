import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { flushMessageChanges } from "../../src/events/message-batch";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { send } from "../helpers/messages";
import { sessionOf } from "../helpers/sandbox-client";
import { createPhone, linkedSession } from "../helpers/sessions";
import { countedFromD1 } from "../helpers/d1-count";
import { TripLog } from "../helpers/trips";
import { newEndpoint } from "../helpers/webhook-receiver";

// The session object journals each status change (ack, receipts) in its own SQLite and flushes
// the journal to D1 in batches: statuses and their webhook deliveries in one D1 batch.

const MANUAL = { receipt_policy: { delivered: "manual", read: "manual" } };

async function phones(key: string, count: number, body: Record<string, unknown> = {}): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i += 10) {
    const chunk = await Promise.all(Array.from({ length: Math.min(10, count - i) }, () => createPhone(key, body)));
    out.push(...chunk.map((p) => p.phone_number));
  }
  return out;
}

async function createWebhook(account: TestAccount, events: string[]) {
  const res = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: newEndpoint().url, events } });
  expect(res.status, res.text).toBe(201);
  return res.json.webhook as { id: string; created_at: string };
}

async function statusCounts(campaignId: string): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare("SELECT status, count(*) AS n FROM messages WHERE campaign_id = ? GROUP BY status").bind(campaignId).all<{ status: string; n: number }>();
  return Object.fromEntries(results.map((r) => [r.status, r.n]));
}

/** Reads from inside the session object (its private parts). */
function inside<T>(sessionId: string, read: (o: any) => T): Promise<T> {
  const stub: DurableObjectStub = sessionOf(sessionId);
  return runInDurableObject(stub, (instance) => read(instance)) as Promise<T>;
}

async function journalSize(sessionId: string): Promise<number> {
  return inside(sessionId, (o) => o.journal.size() as number);
}

async function deliveriesOf(webhookId: string) {
  const { results } = await env.DB.prepare("SELECT event_id, event_type, payload FROM webhook_deliveries WHERE webhook_id = ?").bind(webhookId).all<{ event_id: string; event_type: string; payload: string }>();
  return results;
}

async function sendAll(account: TestAccount, sessionId: string, to: string[], delayBetween = 0): Promise<string> {
  const res = await send(account.key, { whatsapp_session_id: sessionId, to_number: to, type: "text", content: "flush", delay_between: delayBetween });
  expect(res.status, res.text).toBe(201);
  return res.json.data.campaign_id;
}

describe("status journal and batched flush", () => {
  it("sends 50 unpaced messages to `delivered` with at most 0.1 D1 round trips per message inside the session object", async () => {
    const account = await createAccount({ plan: "pro", balance: 100_000 });
    const { session } = await linkedSession(account.key);
    const hook = await createWebhook(account, ["message.sent", "message.delivered", "message.read"]);
    const to = await phones(account.key, 50);
    // Known numbers (as in a campaign to existing contacts): the first contact's lookups are not what is measured.
    const warm = await sendAll(account, session.id, to);
    await expect.poll(async () => { const c = await statusCounts(warm); return (c.delivered ?? 0) + (c.read ?? 0); }, { timeout: 120_000, interval: 100 }).toBe(50);
    await expect.poll(() => journalSize(session.id), { timeout: 20_000, interval: 100 }).toBe(0);
    const log = new TripLog();
    // The binding, counted for every call but the API's, the queue consumers' and this test's: each is one trip.
    await inside(session.id, (o) => {
      o.realDb = o.env.DB;
      o.env.DB = countedFromD1(log, o.env.DB, /\/src\/(api|queues|sandbox|recovery)\/|\/test\//);
    });
    try {
      const campaignId = await sendAll(account, session.id, to);
      await expect.poll(async () => { const c = await statusCounts(campaignId); return (c.delivered ?? 0) + (c.read ?? 0); }, { timeout: 120_000, interval: 100 }).toBe(50);
      await expect.poll(() => journalSize(session.id), { timeout: 20_000, interval: 100 }).toBe(0);
    } finally {
      await inside(session.id, (o) => (o.env.DB = o.realDb));
    }
    expect(log.trips.length / 50, log.describe()).toBeLessThanOrEqual(0.1);

    // Each event once per webhook: 50 sent, and a delivered (or read) for each message.
    const rows = await deliveriesOf(hook.id);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(rows.length);
    expect(rows.filter((r) => r.event_type === "message.sent")).toHaveLength(100);
    const { data } = JSON.parse(rows.find((r) => r.event_type === "message.sent")!.payload);
    expect(Object.keys(data)).toEqual([
      "id", "provider_message_id", "chat_id", "chat_type", "from_me", "direction", "type", "from_number", "to_number", "from_lid", "chat_lid", "content",
      "status", "reason", "campaign_id", "sent_at", "delivered_at", "read_at", "created_at", "updated_at",
    ]);
    expect(data.from_me).toBe(true);
    expect(data.sent_at).toMatch(/Z$/);
  }, 240_000);

  it("a crash between the journal and the flush loses nothing: after the wake D1 has every status and delivery once", async () => {
    const account = await createAccount({ plan: "pro", balance: 10_000, message_cost: 10 });
    const { session } = await linkedSession(account.key);
    const hook = await createWebhook(account, ["message.sent"]);
    const to = await phones(account.key, 10, MANUAL);
    await inside(session.id, (o) => (o.flusher.heldByTest = true));

    const campaignId = await sendAll(account, session.id, to);
    const balance = (await call("GET", "/v1/account", { key: account.key })).json.account.balance as number;
    // Every message acked and journaled, none of it in D1 yet.
    await expect
      .poll(() => inside(session.id, (o) => o.ctx.storage.sql.exec("SELECT count(*) AS n FROM status_journal WHERE kind = 'sent'").one().n as number), { timeout: 60_000, interval: 50 })
      .toBe(10);
    expect(await statusCounts(campaignId)).toEqual({ queued: 10 });
    // The flush's timer lives in memory; the alarm table holds its backstop, so an eviction
    // cannot leave the journal waiting for some unrelated alarm.
    expect(await inside(session.id, (o) => o.schedule.has("flush"))).toBe(true);
    const journaled = await inside(session.id, (o) => o.journal.take(100).map((e: any) => e.change));
    const stub: DurableObjectStub = sessionOf(session.id);
    await runInDurableObject(stub, (_o, state) => state.abort("crash before the flush")).catch(() => {});

    // The wake's alarm flushes the orphaned journal.
    await sessionOf(session.id).snapshot();
    await expect.poll(() => statusCounts(campaignId), { timeout: 30_000, interval: 100 }).toEqual({ sent: 10 });
    await expect.poll(() => journalSize(session.id), { timeout: 20_000, interval: 100 }).toBe(0);
    const sentAt = (await env.DB.prepare("SELECT id, sent_at FROM messages WHERE campaign_id = ? ORDER BY id").bind(campaignId).all()).results;

    // A flush whose answer was lost (D1 has it, the journal still does) is repeated: nothing twice.
    await inside(session.id, async (o) => {
      const config = o.meta.config();
      await flushMessageChanges(o.env, { accountId: config.accountId, sessionId: config.id, cache: o.flusher.hooks }, journaled);
    });
    const rows = await deliveriesOf(hook.id);
    expect(rows).toHaveLength(10);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(10);
    expect((await env.DB.prepare("SELECT id, sent_at FROM messages WHERE campaign_id = ? ORDER BY id").bind(campaignId).all()).results).toEqual(sentAt);
    // Sent, so never refunded.
    expect((await call("GET", "/v1/account", { key: account.key })).json.account.balance).toBe(balance);
  }, 180_000);

  it("a webhook created mid-burst gets the events after its creation; a deleted one gets none after its deletion", async () => {
    const account = await createAccount({ plan: "pro", balance: 100_000 });
    const { session } = await linkedSession(account.key);
    const first = await createWebhook(account, ["message.sent"]);
    const to = await phones(account.key, 30, MANUAL);
    const campaignId = await sendAll(account, session.id, to, 150);

    // Acks as the object has them (D1 lags them by up to a flush delay, the length of this burst).
    const acked = () => inside(session.id, (o) => o.ctx.storage.sql.exec("SELECT count(*) AS n FROM outbox WHERE acked_at IS NOT NULL").one().n as number);
    await expect.poll(acked, { timeout: 60_000, interval: 20 }).toBeGreaterThanOrEqual(5);
    const second = await createWebhook(account, ["message.sent"]);
    await expect.poll(acked, { timeout: 60_000, interval: 20 }).toBeGreaterThanOrEqual(15);
    const deleted = await call("DELETE", `/v1/whatsapp/webhooks/${first.id}`, { key: account.key });
    expect(deleted.status, deleted.text).toBeLessThan(300);
    const deletedAt = new Date().toISOString();
    await expect.poll(async () => (await statusCounts(campaignId)).sent ?? 0, { timeout: 60_000, interval: 50 }).toBe(30);
    await expect.poll(() => journalSize(session.id), { timeout: 20_000, interval: 100 }).toBe(0);

    const rows = (await env.DB.prepare("SELECT id, sent_at FROM messages WHERE campaign_id = ?").bind(campaignId).all<{ id: string; sent_at: string }>()).results;
    const after = (at: string) => rows.filter((r) => r.sent_at > at).map((r) => r.id);
    const toSecond = new Set((await deliveriesOf(second.id)).map((d) => JSON.parse(d.payload).data.id));
    expect(after(second.created_at).length).toBeGreaterThan(0);
    for (const id of after(second.created_at)) expect(toSecond.has(id), id).toBe(true);
    // Sent after the deletion, and still nothing for the deleted webhook.
    expect(after(deletedAt).length).toBeGreaterThan(0);
    expect(await deliveriesOf(first.id)).toHaveLength(0);
  }, 240_000);
});
