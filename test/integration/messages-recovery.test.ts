import { createExecutionContext, createScheduledController, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { deleteSession } from "../../src/db/sessions.repo";
import { toTimestamp } from "../../src/domain/time";
import worker from "../../src/index";
import { reconcileStaleSends } from "../../src/recovery/sweep";
import { RECOVERY_NAME } from "../../src/platform/bindings";
import type { SessionObject } from "../../src/session/session.do";
import { call, createAccount } from "../helpers/api";
import { balanceOf, farFuture, send } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";

// Every accepted message ends in a final state, also when its send job was lost or its
// session was deleted before sending it.

const recovery = () => env.RECOVERY.get(env.RECOVERY.idFromName(RECOVERY_NAME));
const sessionStub = (id: string) => env.SESSION.get(env.SESSION.idFromName(id));
const ago = (ms: number) => toTimestamp(Date.now() - ms);

/**
 * An accepted, charged outgoing row whose queue message never went out (a crash in between).
 * An hour old by default: older than any incremental reconcile window, so only a full pass
 * finds it.
 */
async function lostSend(
  row: { accountId: string; sessionId: string; from: string | null; to: string; text: string },
  options: { createdAt?: string; status?: "queued" | "scheduled"; scheduledAt?: string | null; cost?: number } = {},
): Promise<string> {
  const id = crypto.randomUUID();
  const createdAt = options.createdAt ?? ago(60 * 60_000);
  await env.DB.prepare(
    `INSERT INTO messages (id, account_id, whatsapp_session_id, from_number, to_number, type, content, status, direction, cost, scheduled_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 'text', ?, ?, 'outgoing', ?, ?, ?, ?)`,
  )
    .bind(id, row.accountId, row.sessionId, row.from, row.to, row.text, options.status ?? "queued", options.cost ?? 10, options.scheduledAt ?? null, createdAt, createdAt)
    .run();
  return id;
}

async function statusOf(key: string, id: string): Promise<string> {
  return (await call("GET", `/v1/whatsapp/messages/${id}`, { key })).json.data.status;
}

async function expectSentOnce(key: string, id: string, to: string, text: string): Promise<void> {
  await expect.poll(() => statusOf(key, id), { timeout: 20_000 }).toMatch(/^(sent|delivered)$/);
  const inbox = (await call("GET", `/v1/sandbox/phones/${to}/inbox`, { key })).json.messages;
  expect(inbox.filter((m: any) => m.text === text)).toHaveLength(1);
}

describe("message recovery", () => {
  it("sends a message whose send job was lost an hour ago, from the cron (a full reconcile, not the incremental window)", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key);
    // The session has reconciled (its alarm), so an incremental pass would look back 5 minutes only.
    await runDurableObjectAlarm(sessionStub(session.id));
    expect(await runInDurableObject(sessionStub(session.id), (o: SessionObject) => (o as any).outbox.reconciledAt())).not.toBeNull();
    const text = "lost in transit";
    const id = await lostSend({ accountId: account.id, sessionId: session.id, from: session.phone_number, to: contact.phone_number, text });

    await worker.scheduled(createScheduledController({ cron: "*/10 * * * *" }), env, createExecutionContext());
    await expectSentOnce(account.key, id, contact.phone_number, text);
  });

  it("sends a message whose send job was lost, and a scheduled one now due, from the recovery alarm (as under wrangler dev, where no cron runs)", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key);
    const row = { accountId: account.id, sessionId: session.id, from: session.phone_number, to: contact.phone_number };
    const queued = await lostSend({ ...row, text: "found by the alarm" });
    const scheduled = await lostSend({ ...row, text: "scheduled, found by the alarm" }, { status: "scheduled", scheduledAt: ago(3 * 60_000) });

    await recovery().arm();
    expect(await runDurableObjectAlarm(recovery())).toBe(true);
    await expectSentOnce(account.key, queued, contact.phone_number, "found by the alarm");
    await expectSentOnce(account.key, scheduled, contact.phone_number, "scheduled, found by the alarm");
  });

  it("fails and refunds what a deleted session had not sent yet", async () => {
    const account = await createAccount({ balance: 1000, message_cost: 10 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key);
    const res = await send(account.key, {
      whatsapp_session_id: session.id,
      to_number: [contact.phone_number],
      type: "text",
      content: "later",
      scheduled_at: farFuture(),
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.data.new_balance).toBe(990);

    expect((await call("DELETE", `/v1/whatsapp/sessions/${session.id}`, { key: account.key })).status).toBe(200);
    const message = (await call("GET", `/v1/whatsapp/messages/${res.json.data.messages[0].id}`, { key: account.key })).json.data;
    expect(message).toMatchObject({ status: "failed", reason: "session_deleted" });
    expect((await call("GET", "/v1/account", { key: account.key })).json.account.balance).toBe(1000);
  });

  it("fails and refunds, from the sweep, what a deletion that crashed before failing it left queued", async () => {
    const account = await createAccount({ balance: 1000, message_cost: 10 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key);
    const id = await lostSend({ accountId: account.id, sessionId: session.id, from: session.phone_number, to: contact.phone_number, text: "orphan" });
    await env.DB.prepare("UPDATE accounts SET balance = balance - 10 WHERE id = ?").bind(account.id).run(); // its charge
    // DELETE ran destroy() and removed the row, then the process died before failPendingOfSession.
    await sessionStub(session.id).destroy();
    await deleteSession(database(env), account.id, session.id);

    expect(await reconcileStaleSends(env)).toBeGreaterThanOrEqual(1);
    expect((await call("GET", `/v1/whatsapp/messages/${id}`, { key: account.key })).json.data).toMatchObject({ status: "failed", reason: "session_deleted" });
    expect(await balanceOf(account.key)).toBe(1000);
  });

  it("reaches every session holding stale sends, past one page of 100", async () => {
    const account = await createAccount({ balance: 10_000, message_cost: 10 });
    // 130 deleted sessions, each with a send left queued: each must be asked (and fails it).
    const ids: string[] = [];
    for (let i = 0; i < 130; i++) {
      ids.push(await lostSend({ accountId: account.id, sessionId: crypto.randomUUID(), from: null, to: "+14155550100", text: `orphan ${i}` }, { cost: 0 }));
    }
    expect(await reconcileStaleSends(env)).toBeGreaterThanOrEqual(130);
    const { results } = await env.DB.prepare(
      `SELECT status, reason, count(*) AS n FROM messages WHERE account_id = ? GROUP BY status, reason`,
    )
      .bind(account.id)
      .all<{ status: string; reason: string; n: number }>();
    expect(results).toEqual([{ status: "failed", reason: "session_deleted", n: 130 }]);
  });

  it("reschedules an outbox whose `outbox` task was lost, when the sweep asks the session to reconcile", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key);
    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: [contact.phone_number], type: "text", content: "held", scheduled_at: farFuture() });
    expect(res.status, res.text).toBe(201);
    // The outbox holds it; then its task is lost (taken by an alarm that crashed before running it).
    const stub = sessionStub(session.id);
    await expect.poll(() => runInDurableObject(stub, (o: SessionObject) => (o as any).outbox.size())).toBe(1);
    await runInDurableObject(stub, async (o: SessionObject) => {
      await (o as any).schedule.clear("outbox");
    });
    expect(await runInDurableObject(stub, (o: SessionObject) => (o as any).schedule.has("outbox"))).toBe(false);

    expect(await stub.reconcile(session.id)).toEqual({ adopted: 0 });
    expect(await runInDurableObject(stub, (o: SessionObject) => (o as any).schedule.has("outbox"))).toBe(true);
  });
});
