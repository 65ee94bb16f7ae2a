import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { balanceOf, send } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";
import { holdFlushes, inside, journaledSent, journalSize } from "../helpers/session-inside";

// Statuses journaled in the session object and not yet in D1, when the session is deleted or
// WhatsApp refuses the message: an acked message is never failed by the cleanup, and a refusal
// is never dropped because its `sent` was still journaled.

const MANUAL = { receipt_policy: { delivered: "manual", read: "manual" } };

async function messageRow(id: string) {
  return env.DB.prepare("SELECT status, reason, sent_at FROM messages WHERE id = ?").bind(id).first<{ status: string; reason: string | null; sent_at: string | null }>();
}

async function sendOne(key: string, sessionId: string, to: string): Promise<string> {
  const res = await send(key, { whatsapp_session_id: sessionId, to_number: [to], type: "text", content: "journal" });
  expect(res.status, res.text).toBe(201);
  return res.json.data.messages[0].id as string;
}

/** A linked session whose flushes are held, with one message acked and journaled but not in D1. */
async function acceptedAndJournaled() {
  const account = await createAccount({ plan: "pro", balance: 1_000, message_cost: 10 });
  const { session } = await linkedSession(account.key);
  const to = (await createPhone(account.key, MANUAL)).phone_number;
  await holdFlushes(session.id, true);
  const id = await sendOne(account.key, session.id, to);
  await expect.poll(() => journaledSent(session.id), { timeout: 30_000, interval: 50 }).toHaveProperty(id);
  return { account, session, id, to };
}

describe("status journal at deletion and refusal", () => {
  it("deleting a session whose journal holds an acked message: refused while unsaved, then the message ends `sent`, not refunded", async () => {
    const { account, session, id } = await acceptedAndJournaled();
    expect((await messageRow(id))?.status).toBe("queued");
    const balance = await balanceOf(account.key);

    // The journal cannot be saved (flushes held): the delete is refused, nothing erased.
    const refused = await call("DELETE", `/v1/whatsapp/sessions/${session.id}`, { key: account.key });
    expect(refused.status, refused.text).toBe(503);
    expect(await journalSize(session.id)).toBe(1);
    expect((await messageRow(id))?.status).toBe("queued");

    // Retried: destroy itself flushes the journal before erasing the storage.
    await holdFlushes(session.id, false);
    const deleted = await call("DELETE", `/v1/whatsapp/sessions/${session.id}`, { key: account.key });
    expect(deleted.status, deleted.text).toBe(200);
    const row = await messageRow(id);
    expect(row?.status).toBe("sent");
    expect(row?.reason).toBeNull();
    expect(await balanceOf(account.key)).toBe(balance);
  }, 120_000);

  it("a refusal (ERROR receipt) of an acked message whose `sent` is still journaled fails it in D1, once", async () => {
    const { account, session, id, to } = await acceptedAndJournaled();
    const waId = (await journaledSent(session.id))[id];
    const balance = await balanceOf(account.key);

    // The update Baileys emits for a refused message (handleBadAck: status ERROR, the code as stub parameter).
    await inside(session.id, (o) =>
      o.lifecycle.p.receipts.onUpdates(o.meta.config(), [{ key: { id: waId, fromMe: true, remoteJid: `${to}@s.whatsapp.net` }, update: { status: 0, messageStubParameters: ["479"] } }]),
    );
    const row = await messageRow(id);
    expect(row?.status).toBe("failed");
    expect(row?.reason).not.toBeNull();
    expect(await balanceOf(account.key)).toBe(balance + 10);

    // The journaled `sent` flushed later changes nothing: still failed, refunded once.
    await holdFlushes(session.id, false);
    await inside(session.id, (o) => o.flusher.flush());
    expect(await journalSize(session.id)).toBe(0);
    expect((await messageRow(id))?.status).toBe("failed");
    expect(await balanceOf(account.key)).toBe(balance + 10);
  }, 120_000);
});
