import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { prepareSend } from "../../src/api/messages.accept";
import { SendMessageBody } from "../../src/api/messages.schemas";
import { findAccount } from "../../src/db/accounts.repo";
import { database } from "../../src/db/client";
import { acceptSends } from "../../src/db/messages.accept";
import { chatJid } from "../../src/domain/phone";
import type { OutboxItem } from "../../src/domain/outbox-item";
import type { SessionObject } from "../../src/session/session.do";
import { call, createAccount } from "../helpers/api";
import { balanceOf } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";

// Kill-and-restart of a 200-recipient campaign. D1 is the truth: messages accepted there
// reach WhatsApp exactly once, whatever was lost of their queue messages and of the session
// object's memory. Restarts are state.abort(); lost queue batches are rows accepted in D1
// whose queue message never went out (what a crash between the two leaves).

const COST = 10;
const START_BALANCE = 100_000;

const sessionObject = (id: string) => env.SESSION.get(env.SESSION.idFromName(id));

/** Aborts the object (its memory is gone; storage and alarm stay); later calls use a new stub. */
async function kill(sessionId: string): Promise<void> {
  await runInDurableObject(sessionObject(sessionId), (_, state) => state.abort("crash")).catch(() => {});
}

/** Messages the session's outbox knows (held or finished): 200 once all are adopted. */
async function outboxRows(sessionId: string): Promise<number> {
  return runInDurableObject(sessionObject(sessionId), (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n);
}

async function phones(key: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i += 20) {
    const chunk = await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, () => createPhone(key, { receipt_policy: { delivered: "manual", read: "manual" } })),
    );
    out.push(...chunk.map((p) => p.phone_number));
  }
  return out;
}

/** Accepts a send in D1 (debit, rows) exactly as the API does, and stops there: no queue message. */
async function acceptWithoutQueue(accountId: string, body: Record<string, unknown>): Promise<{ campaignId: string; items: OutboxItem[] }> {
  const db = database(env);
  const account = (await findAccount(db, accountId))!;
  const prepared = await prepareSend(env, account, SendMessageBody.parse(body), null);
  const result = await acceptSends(db, {
    accountId,
    messageCost: account.messageCost,
    totalCost: prepared.rows.length * account.messageCost,
    count: prepared.rows.length,
    dailyLimit: null,
    sends: [{ campaign: prepared.campaign, messages: prepared.rows }],
  });
  expect(result.accepted).toBe(true);
  return { campaignId: prepared.campaign.id, items: prepared.items };
}

async function campaignStatuses(campaignId: string): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare("SELECT status, count(*) AS n FROM messages WHERE campaign_id = ? GROUP BY status").bind(campaignId).all<{
    status: string;
    n: number;
  }>();
  return Object.fromEntries(results.map((r) => [r.status, r.n]));
}

async function waitUntilFinal(campaignId: string, total: number, timeout = 120_000): Promise<Record<string, number>> {
  await expect
    .poll(async () => {
      const counts = await campaignStatuses(campaignId);
      return (counts.sent ?? 0) + (counts.delivered ?? 0) + (counts.read ?? 0) + (counts.failed ?? 0);
    }, { timeout, interval: 250 })
    .toBe(total);
  return campaignStatuses(campaignId);
}

/** Every recipient's inbox holds the text exactly once. */
async function expectDeliveredOnce(key: string, recipients: string[], text: string): Promise<void> {
  for (let i = 0; i < recipients.length; i += 20) {
    const inboxes = await Promise.all(
      recipients.slice(i, i + 20).map(async (phone) => {
        const res = await call("GET", `/v1/sandbox/phones/${phone}/inbox`, { key });
        expect(res.status, res.text).toBe(200);
        return { phone, count: res.json.messages.filter((m: any) => m.text === text).length };
      }),
    );
    for (const { phone, count } of inboxes) expect(count, phone).toBe(1);
  }
}

async function expectBalanceMatches(key: string, counts: Record<string, number>, total: number): Promise<void> {
  const nonFailed = total - (counts.failed ?? 0);
  expect(await balanceOf(key)).toBe(START_BALANCE - COST * nonFailed);
}

describe("nothing stuck after a crash: a 200-recipient campaign", () => {
  it("sends every message exactly once through lost queue batches and restarts at several points", async () => {
    const account = await createAccount({ plan: "pro", balance: START_BALANCE, message_cost: COST });
    const { session } = await linkedSession(account.key);
    const recipients = await phones(account.key, 200);
    const text = "accepted, then crash after crash";
    // Point 1: accepted in D1, then the process died before any queue message went out.
    const { campaignId, items } = await acceptWithoutQueue(account.id, {
      whatsapp_session_id: session.id,
      to_number: recipients,
      type: "text",
      content: text,
      delay_between: 0,
    });
    expect(await campaignStatuses(campaignId)).toEqual({ queued: 200 });

    // Point 2: a restart after a queue message carried the first 60 (the rest were lost).
    expect(await sessionObject(session.id).enqueue(items.slice(0, 60))).toEqual({ accepted: 60 });
    await expect.poll(async () => (await campaignStatuses(campaignId)).sent ?? 0, { timeout: 60_000, interval: 20 }).toBeGreaterThan(0);
    await kill(session.id);
    // The restarted object knows the 60 (a redelivery is ignored, sent or not) ...
    expect(await sessionObject(session.id).enqueue(items.slice(0, 60))).toEqual({ accepted: 0 });
    // ... and its first alarm after the restart (due at once: it may already have run)
    // reconciles with D1. Only 60 were ever handed over, so the outbox adopted the 140 lost.
    await runDurableObjectAlarm(sessionObject(session.id));
    expect(await outboxRows(session.id)).toBe(200);
    expect(await sessionObject(session.id).reconcile()).toEqual({ adopted: 0 });

    // Point 3: another crash in the middle of the burst.
    await expect.poll(async () => (await campaignStatuses(campaignId)).sent ?? 0, { timeout: 120_000, interval: 20 }).toBeGreaterThanOrEqual(100);
    await kill(session.id);
    await runDurableObjectAlarm(sessionObject(session.id));

    const counts = await waitUntilFinal(campaignId, 200);
    expect(counts).toEqual({ sent: 200 });
    await expectDeliveredOnce(account.key, recipients, text);
    await expectBalanceMatches(account.key, counts, 200);
    // A late redelivery of the whole batch, or reconciling again, sends nothing more: the
    // outbox keeps the ids it finished.
    expect(await sessionObject(session.id).enqueue(items)).toEqual({ accepted: 0 });
    expect(await sessionObject(session.id).reconcile()).toEqual({ adopted: 0 });
  }, 300_000);

  it("resends with the same WhatsApp id after a crash between the send and D1 recording it: one message in the inbox", async () => {
    const account = await createAccount({ plan: "pro", balance: START_BALANCE, message_cost: COST });
    const { session } = await linkedSession(account.key);
    const [recipient] = await phones(account.key, 1);
    const text = "sent, then the crash before D1 knew";
    const { campaignId, items } = await acceptWithoutQueue(account.id, {
      whatsapp_session_id: session.id,
      to_number: [recipient],
      type: "text",
      content: text,
    });
    // The outbox takes it and sends it to WhatsApp (marked `sending`, with its WhatsApp id) ...
    const waId = await runInDurableObject(sessionObject(session.id), async (instance: SessionObject) => {
      const o = instance as any;
      await expect.poll(() => Boolean(o.conn.current && o.conn.ready)).toBe(true);
      o.outbox.add(items);
      const entry = o.outbox.takeNext();
      await o.conn.current.sendMessage(chatJid(recipient), { text }, { messageId: entry.waId });
      return entry.waId as string;
    });
    // ... and the process dies before markMessageSent: D1 still says queued, and no task is left.
    await kill(session.id);
    expect(await campaignStatuses(campaignId)).toEqual({ queued: 1 });

    // The restarted object reconciles on its first alarm and sends what it held: the same id.
    await runDurableObjectAlarm(sessionObject(session.id));
    const counts = await waitUntilFinal(campaignId, 1, 30_000);
    expect(counts).toEqual({ sent: 1 });
    const row = await env.DB.prepare("SELECT provider_message_id AS id FROM messages WHERE campaign_id = ?").bind(campaignId).first<{ id: string }>();
    expect(row!.id).toBe(waId);
    await expectDeliveredOnce(account.key, [recipient], text);
    await expectBalanceMatches(account.key, counts, 1);
  }, 120_000);
});
