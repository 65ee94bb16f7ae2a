import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { send } from "../helpers/messages";
import { sandboxOf } from "../helpers/sandbox-client";
import { createPhone, fault, linkedSession, logins, sessionObject } from "../helpers/sessions";

// A recipient that cannot decrypt a message asks for it again with a retry receipt; Baileys then
// needs the original from getMessage. The gateway serves it from the session object's SQLite, so
// the resend works after the object restarted (Baileys' own cache is in memory). Real Baileys
// client against the sandbox (docs/protocol/sending.md).

async function inboxEntry(key: string, phone: string, id: string) {
  const res = await call("GET", `/v1/sandbox/phones/${phone}/inbox`, { key });
  expect(res.status, res.text).toBe(200);
  return (res.json.messages as any[]).find((m) => m.id === id);
}

/** Sends a text and waits for its row to reach `status`; returns its WhatsApp id. */
async function sentMessage(key: string, sessionId: string, to: string, content: string, status = "sent") {
  const res = await send(key, { whatsapp_session_id: sessionId, to_number: [`+${to}`], type: "text", content });
  expect(res.status, res.text).toBe(201);
  const id = res.json.data.messages[0].id;
  let row: any;
  await expect
    .poll(async () => {
      row = (await call("GET", `/v1/whatsapp/messages/${id}`, { key })).json.data;
      return row?.status;
    }, { timeout: 20_000, interval: 100 })
    .toBe(status);
  return row.provider_message_id as string;
}

async function retryReceipts(key: string, phone: string, ids: string[]) {
  const res = await call("POST", `/v1/sandbox/phones/${phone}/retry-receipts`, { key, body: { ids } });
  expect(res.status, res.text).toBe(200);
  return res.json.result;
}

describe("retry receipts", () => {
  it("a retry receipt after the session object restarted still gets the message resent, and the phone decrypts it", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Rita", receipt_policy: { delivered: "manual" } });
    const waId = await sentMessage(account.key, session.id, contact.phone_number, "say it again, ünïcødé ✓");
    await expect.poll(() => inboxEntry(account.key, contact.phone_number, waId), { timeout: 10_000, interval: 100 }).toMatchObject({ retry_count: 0 });

    // Restart: the object's memory (and Baileys' recent-message cache) is gone; a fresh
    // instance logs back in with the stored keys.
    const before = await logins(account.id, session.id);
    await runInDurableObject(sessionObject(session.id), (_, state) => state.abort("restart")).catch(() => {});
    await runInDurableObject(sessionObject(session.id), () => undefined);
    await expect.poll(() => logins(account.id, session.id), { timeout: 30_000, interval: 100 }).toBeGreaterThan(before);

    const result = await retryReceipts(account.key, contact.phone_number, [waId]);
    expect(result).toEqual({ phone_number: contact.phone_number, receipts: [{ id: waId, retry_count: 1, sent: true }] });
    // The phone shows "waiting for this message" until the resend opens.
    await expect
      .poll(async () => {
        const m = await inboxEntry(account.key, contact.phone_number, waId);
        return m && { awaiting_resend: m.awaiting_resend, text: m.text, retry_count: m.retry_count, resent: m.resent_at !== null };
      }, { timeout: 20_000, interval: 100 })
      .toEqual({ awaiting_resend: false, text: "say it again, ünïcødé ✓", retry_count: 1, resent: true });

    // A second request counts up, and is answered again.
    expect((await retryReceipts(account.key, contact.phone_number, [waId])).receipts).toEqual([{ id: waId, retry_count: 2, sent: true }]);
    await expect
      .poll(async () => {
        const m = await inboxEntry(account.key, contact.phone_number, waId);
        return m && { awaiting_resend: m.awaiting_resend, text: m.text, retry_count: m.retry_count };
      }, { timeout: 20_000, interval: 100 })
      .toEqual({ awaiting_resend: false, text: "say it again, ünïcødé ✓", retry_count: 2 });
  }, 90_000);

  it("without the stored original nothing is resent: the phone keeps waiting (negative control)", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Vera", receipt_policy: { delivered: "manual" } });
    const waId = await sentMessage(account.key, session.id, contact.phone_number, "gone from storage");
    // Restart (Baileys' memory cache goes) and drop the durable copy: getMessage has nothing.
    const before = await logins(account.id, session.id);
    const deleted = await runInDurableObject(sessionObject(session.id), (_, state) => state.storage.sql.exec("DELETE FROM sent_messages WHERE wa_id = ?", waId).rowsWritten);
    expect(deleted).toBe(1);
    await runInDurableObject(sessionObject(session.id), (_, state) => state.abort("restart")).catch(() => {});
    await runInDurableObject(sessionObject(session.id), () => undefined);
    await expect.poll(() => logins(account.id, session.id), { timeout: 30_000, interval: 100 }).toBeGreaterThan(before);

    expect((await retryReceipts(account.key, contact.phone_number, [waId])).receipts).toEqual([{ id: waId, retry_count: 1, sent: true }]);
    // Baileys acks a retry receipt only after handling it (messages-recv.js handleReceipt acks in
    // `finally`, after sendMessagesAgain): once nothing is owed, the handling is over.
    const owed = async () => ((await sandboxOf(account.id).sockets()) as { session_id: string; unacked: number }[]).find((s) => s.session_id === session.id)?.unacked;
    await expect.poll(owed, { timeout: 20_000, interval: 100 }).toBe(0);
    const m = await inboxEntry(account.key, contact.phone_number, waId);
    expect({ awaiting_resend: m.awaiting_resend, text: m.text, resent_at: m.resent_at }).toEqual({ awaiting_resend: true, text: null, resent_at: null });
  }, 90_000);

  it("logout forgets what the link sent, with its keys", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Lou", receipt_policy: { delivered: "manual" } });
    await sentMessage(account.key, session.id, contact.phone_number, "before logout");
    const kept = () =>
      runInDurableObject(sessionObject(session.id), (_, state) => ({
        sent: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sent_messages").one().n,
        keys: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM wa_auth_keys").one().n,
      }));
    expect((await kept()).sent).toBe(1);
    const res = await call("POST", `/v1/whatsapp/sessions/${session.id}/logout`, { key: account.key });
    expect(res.status, res.text).toBeLessThan(300);
    expect(await kept()).toEqual({ sent: 0, keys: 0 });
  }, 60_000);

  it("fault undecryptable: the phone cannot open the next message, asks again on its own, and opens the resend", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Uma" });
    await fault(account.key, session.id, { kind: "undecryptable" });
    // The retry receipt came from the phone, not from a driver call; the resend opened and was
    // delivered, so the gateway's row goes on to `delivered` like any other.
    const waId = await sentMessage(account.key, session.id, contact.phone_number, "first try fails", "delivered");
    expect(await inboxEntry(account.key, contact.phone_number, waId)).toMatchObject({ text: "first try fails", retry_count: 1, awaiting_resend: false });
    const receipts = (await sandboxOf(account.id).events(500)) as { kind: string; detail: any }[];
    expect(receipts.filter((e) => e.kind === "retry_receipt").map((e) => e.detail)).toEqual([expect.objectContaining({ id: waId, count: 1, sent: true })]);

    // Only the next message: the one after opens at once.
    const next = await sentMessage(account.key, session.id, contact.phone_number, "second opens", "delivered");
    expect(await inboxEntry(account.key, contact.phone_number, next)).toMatchObject({ text: "second opens", retry_count: 0 });
  }, 60_000);

  it("refuses a retry receipt for a message the phone never received", async () => {
    const account = await createAccount({ balance: 1000 });
    const contact = await createPhone(account.key, { name: "Nobody" });
    const res = await call("POST", `/v1/sandbox/phones/${contact.phone_number}/retry-receipts`, { key: account.key, body: { ids: ["3EB0DEADBEEF"] } });
    expect(res.status, res.text).toBe(404);
    const empty = await call("POST", `/v1/sandbox/phones/${contact.phone_number}/retry-receipts`, { key: account.key, body: { ids: [] } });
    expect(empty.status, empty.text).toBe(422);
  });
});
