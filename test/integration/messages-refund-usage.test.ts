import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { acceptSends, type SendRows } from "../../src/db/messages.accept";
import { failMessages } from "../../src/db/messages.status";
import { type CampaignRow, type MessageRow } from "../../src/db/messages.rows";
import { sessions } from "../../src/db/schema";
import { newSessionRow } from "../../src/db/sessions.repo";
import { toTimestamp, utcDay } from "../../src/domain/time";
import { call, createAccount } from "../helpers/api";
import { farFuture, numbers, send } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";

// A failed message is refunded whole: its cost and its place in the plan's daily usage, on the
// day it was counted.

async function account(key: string) {
  const res = await call("GET", "/v1/account", { key });
  expect(res.status, res.text).toBe(200);
  return res.json.account as { balance: number; usage: { day: string; messages: number } };
}

async function messageStatus(id: string): Promise<string | undefined> {
  return (await env.DB.prepare("SELECT status FROM messages WHERE id = ?").bind(id).first<{ status: string }>())?.status;
}

/** Rows of one campaign created at `atMs` (e.g. yesterday), as messages.accept.ts builds them. */
async function rowsCreated(accountId: string, atMs: number, count: number): Promise<{ sends: SendRows[]; rows: MessageRow[] }> {
  const sessionRow = newSessionRow({ accountId, sandbox: true, connectionMode: "on_demand", settings: {} });
  await database(env).insert(sessions).values(sessionRow);
  const at = toTimestamp(atMs);
  const campaign: CampaignRow = { id: crypto.randomUUID(), accountId, whatsappSessionId: sessionRow.id, type: "text", total: count, delayBetween: 0, scheduledAt: null, createdAt: at, updatedAt: at };
  const rows = Array.from({ length: count }, (_, i): MessageRow => ({
    id: crypto.randomUUID(), accountId, whatsappSessionId: sessionRow.id, campaignId: campaign.id, otpId: null, providerMessageId: null,
    fromNumber: null, toNumber: `1415555${String(1000 + i)}`, type: "text", content: "x", mediaUrl: null, payload: null, status: "queued", direction: "outgoing", reason: null,
    cost: 1, metadata: null, idempotencyKey: null, callbackUrl: null, callbackData: null, scheduledAt: null, sentAt: null, deliveredAt: null, readAt: null,
    createdAt: at, updatedAt: at, fromLid: null, chatLid: null,
  }));
  return { sends: [{ campaign, messages: rows }], rows };
}

async function usageOn(accountId: string, day: string): Promise<number | null> {
  const row = await env.DB.prepare("SELECT messages FROM daily_usage WHERE account_id = ? AND day = ?").bind(accountId, day).first<{ messages: number }>();
  return row?.messages ?? null;
}

describe("refunds give back the daily usage", () => {
  it("a send to a number not on WhatsApp no longer counts in usage.messages", { timeout: 60_000 }, async () => {
    const acct = await createAccount({ balance: 100, message_cost: 10, plan: "pro" });
    const { session } = await linkedSession(acct.key);
    const contact = await createPhone(acct.key);
    const res = await send(acct.key, { whatsapp_session_id: session.id, to_number: [contact.phone_number, "+14155550199"], type: "text", content: "hi" });
    expect(res.status, res.text).toBe(201);
    expect((await account(acct.key)).usage.messages).toBe(2);
    const [delivered, missing] = res.json.data.messages.map((m: any) => m.id);

    await expect.poll(() => messageStatus(missing), { timeout: 20_000, interval: 100 }).toBe("failed");
    await expect.poll(() => messageStatus(delivered), { timeout: 20_000, interval: 100 }).not.toBe("queued");
    const after = await account(acct.key);
    expect(after.usage).toEqual({ day: utcDay(), messages: 1, sessions: 1 });
    expect(after.balance).toBe(90);
  });

  it("messages failed by a session deletion free the plan's daily limit again", { timeout: 60_000 }, async () => {
    const acct = await createAccount({ balance: 100_000, message_cost: 1, plan: "free" });
    const first = await linkedSession(acct.key);
    const body = { type: "text", content: "later", scheduled_at: farFuture() };
    const full = await send(acct.key, { ...body, whatsapp_session_id: first.session.id, to_number: numbers(100) });
    expect(full.status, full.text).toBe(201);
    const refused = await send(acct.key, { ...body, whatsapp_session_id: first.session.id, to_number: numbers(1, 100) });
    expect(refused.status, refused.text).toBe(429);

    const deleted = await call("DELETE", `/v1/whatsapp/sessions/${first.session.id}`, { key: acct.key });
    expect(deleted.status, deleted.text).toBe(200);
    const after = await account(acct.key);
    expect(after.usage.messages).toBe(0);
    expect(after.balance).toBe(100_000);

    // The whole day's allowance is there again.
    const second = await linkedSession(acct.key);
    const again = await send(acct.key, { ...body, whatsapp_session_id: second.session.id, to_number: numbers(100, 200) });
    expect(again.status, again.text).toBe(201);
    expect((await account(acct.key)).usage.messages).toBe(100);
  });

  it("gives the usage back to the day the message was counted, not today", async () => {
    const acct = await createAccount({ balance: 100, message_cost: 1, plan: "pro" });
    const yesterday = utcDay(Date.now() - 86_400_000);
    const { sends, rows } = await rowsCreated(acct.id, Date.now() - 86_400_000, 2);
    // Created yesterday (accepted just before midnight, say): counted on yesterday, not on today.
    const accepted = await acceptSends(database(env), { accountId: acct.id, messageCost: 1, totalCost: 2, count: 2, dailyLimit: null, sends });
    expect(accepted).toMatchObject({ accepted: true });
    expect(await usageOn(acct.id, utcDay())).toBeNull();
    expect(await usageOn(acct.id, yesterday)).toBe(2);
    // Today has usage of its own, which the refund must not touch.
    await env.DB.prepare("INSERT INTO daily_usage (account_id, day, messages) VALUES (?, ?, 5) ON CONFLICT DO UPDATE SET messages = 5").bind(acct.id, utcDay()).run();

    expect(await failMessages(database(env), [rows[0].id], "test")).toHaveLength(1);
    expect(await usageOn(acct.id, yesterday)).toBe(1);
    expect(await usageOn(acct.id, utcDay())).toBe(5);
    // Exactly once.
    expect(await failMessages(database(env), [rows[0].id], "test")).toEqual([]);
    expect(await usageOn(acct.id, yesterday)).toBe(1);
    expect((await account(acct.key)).balance).toBe(99);
  });

  // The daily limit is checked on the day the rows count on: rows created yesterday are held
  // to yesterday's usage, not today's (and the other way round).
  it("checks the daily limit on the day it counts the rows", async () => {
    const acct = await createAccount({ balance: 1000, message_cost: 1, plan: "pro" });
    // One clock reading: everything below derives its days from it, whenever the test runs.
    const nowMs = Date.now();
    const yesterdayMs = nowMs - 86_400_000;
    const setUsage = (day: string, n: number) =>
      env.DB.prepare("INSERT INTO daily_usage (account_id, day, messages) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET messages = excluded.messages").bind(acct.id, day, n).run();
    const accept = async (atMs: number) => {
      const { sends } = await rowsCreated(acct.id, atMs, 2);
      return acceptSends(database(env), { accountId: acct.id, messageCost: 1, totalCost: 2, count: 2, dailyLimit: 10, sends });
    };

    // Yesterday is full, today is empty: yesterday's rows are refused, today's accepted.
    await setUsage(utcDay(yesterdayMs), 9);
    expect(await accept(yesterdayMs)).toEqual({ accepted: false, reason: "daily_limit_reached" });
    expect(await usageOn(acct.id, utcDay(yesterdayMs))).toBe(9);
    expect(await accept(nowMs)).toMatchObject({ accepted: true });
    expect(await usageOn(acct.id, utcDay(nowMs))).toBe(2);

    // Today is full, yesterday has room: yesterday's rows are accepted and count there.
    await setUsage(utcDay(nowMs), 9);
    await setUsage(utcDay(yesterdayMs), 0);
    expect(await accept(nowMs)).toEqual({ accepted: false, reason: "daily_limit_reached" });
    expect(await accept(yesterdayMs)).toMatchObject({ accepted: true });
    expect(await usageOn(acct.id, utcDay(yesterdayMs))).toBe(2);
    expect(await usageOn(acct.id, utcDay(nowMs))).toBe(9);
  });
});
