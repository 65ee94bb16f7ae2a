import { createExecutionContext, createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { messages } from "../../src/db/schema";
import { now } from "../../src/domain/time";
import { handleDeadLetters } from "../../src/queues/dead-letter.queue";
import { createAccount } from "../helpers/api";
import { balanceOf, send } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";
import { holdFlushes, inside, journaledSent } from "../helpers/session-inside";

// A send job dead-lettered while its message was acked but D1 still says `queued` (the journal
// not flushed yet): the session object, which knows of the ack, keeps it from being failed and
// refunded; an id it never held is failed as before.

const MANUAL = { receipt_policy: { delivered: "manual", read: "manual" } };

const statusOf = async (id: string) => (await env.DB.prepare("SELECT status FROM messages WHERE id = ?").bind(id).first<{ status: string }>())?.status;

describe("send dead letters against the status journal", () => {
  it("leaves an acked message whose `sent` is only journaled alone, and fails one the outbox never held", async () => {
    const account = await createAccount({ plan: "pro", balance: 1_000, message_cost: 10 });
    const { session } = await linkedSession(account.key);
    const to = (await createPhone(account.key, MANUAL)).phone_number;
    await holdFlushes(session.id, true);
    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: [to], type: "text", content: "acked" });
    expect(res.status, res.text).toBe(201);
    const acked = res.json.data.messages[0].id as string;
    await expect.poll(() => journaledSent(session.id), { timeout: 30_000, interval: 50 }).toHaveProperty(acked);
    expect(await statusOf(acked)).toBe("queued");

    // Accepted (charged) for this session, but its job never reached the outbox.
    const lost = crypto.randomUUID();
    const at = now();
    await database(env).insert(messages).values({
      id: lost, accountId: account.id, whatsappSessionId: session.id, toNumber: to, type: "text", content: "lost",
      status: "queued", direction: "outgoing", cost: 10, createdAt: at, updatedAt: at,
    });
    const balance = await balanceOf(account.key);

    const job = { v: 1, sessionId: session.id, items: [acked, lost].map((messageId) => ({ messageId, accountId: account.id, to, type: "text", content: "x" })) };
    await handleDeadLetters(createMessageBatch("wa-send-dlq", [{ id: "dl-1", timestamp: new Date(), attempts: 1, body: job }]), env, createExecutionContext());
    expect(await statusOf(acked)).toBe("queued");
    expect(await statusOf(lost)).toBe("failed");
    expect(await balanceOf(account.key)).toBe(balance + 10);

    // The journal's flush then records the acked one as sent; the lost one stays failed, refunded once.
    await holdFlushes(session.id, false);
    await inside(session.id, (o) => o.flusher.flush());
    expect(await statusOf(acked)).toBe("sent");
    expect(await statusOf(lost)).toBe("failed");
    expect(await balanceOf(account.key)).toBe(balance + 10);
    // A late queue delivery of the failed one is ignored by the outbox.
    expect(await inside(session.id, (o) => o.enqueue(job.items))).toEqual({ accepted: 0 });
  }, 120_000);

  it("a message released for an outside failure whose D1 write never landed is failed by the next reconcile, once", async () => {
    const account = await createAccount({ plan: "pro", balance: 1_000, message_cost: 10 });
    const { session } = await linkedSession(account.key);
    const to = (await createPhone(account.key, MANUAL)).phone_number;
    // Accepted and charged, still `queued` in D1; released by the object (as for a refused queue
    // hand-off), then the caller's failMessages is lost.
    const released = crypto.randomUUID();
    const at = now();
    await database(env).insert(messages).values({
      id: released, accountId: account.id, whatsappSessionId: session.id, toNumber: to, type: "text", content: "released",
      status: "queued", direction: "outgoing", cost: 10, createdAt: at, updatedAt: at,
    });
    expect(await inside(session.id, (o) => o.releaseUnsent([released], "queue_unavailable"))).toEqual([released]);
    const balance = await balanceOf(account.key);

    // Nothing would send or fail it now; a full reconcile finishes the failure, with its reason.
    await inside(session.id, (o) => o.drain.reconcile(true));
    const row = await env.DB.prepare("SELECT status, reason FROM messages WHERE id = ?").bind(released).first();
    expect(row).toEqual({ status: "failed", reason: "queue_unavailable" });
    expect(await balanceOf(account.key)).toBe(balance + 10);
    // Another pass refunds nothing more.
    await inside(session.id, (o) => o.drain.reconcile(true));
    expect(await balanceOf(account.key)).toBe(balance + 10);
  }, 120_000);
});
