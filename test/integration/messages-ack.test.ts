import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { balanceOf, send } from "../helpers/messages";
import { createPhone, fault, linkedSession, sessionObject, setDue } from "../helpers/sessions";
import { sandboxOf } from "../helpers/sandbox-client";
import { newEndpoint } from "../helpers/webhook-receiver";

// A message is `sent` when the server acked its stanza, not when Baileys wrote the frame; an ack
// with an error (463: no trusted contact token) fails it with a refund; a missing ack is a retry
// with the same id on the next socket, never a spent attempt. Real Baileys client, sandbox server
// (docs/protocol/sending.md).

async function message(key: string, id: string) {
  const res = await call("GET", `/v1/whatsapp/messages/${id}`, { key });
  expect(res.status, res.text).toBe(200);
  return res.json.data ?? res.json.message ?? res.json;
}

async function waitForStatus(key: string, id: string, status: string, timeout = 30_000) {
  await expect.poll(async () => (await message(key, id)).status, { timeout, interval: 100 }).toBe(status);
  return message(key, id);
}

/** Event types recorded for this message (one webhook delivery row per event for one subscriber). */
async function eventsOf(accountId: string, messageId: string): Promise<string[]> {
  const rows = await env.DB.prepare("SELECT event_type FROM webhook_deliveries WHERE account_id = ? AND payload LIKE ? ORDER BY created_at, rowid")
    .bind(accountId, `%${messageId}%`)
    .all<{ event_type: string }>();
  return rows.results.map((r) => r.event_type);
}

/** The sender's ack bound for this session (SessionConfig.ackTimeoutMs), short so tests do not wait 35 s. */
async function setAckTimeout(sessionId: string, ms: number) {
  await runInDurableObject(sessionObject(sessionId), (_, state) => {
    const row = state.storage.sql.exec<{ value: string }>("SELECT value FROM session_meta WHERE key = 'config'").one();
    state.storage.sql.exec("UPDATE session_meta SET value = ? WHERE key = 'config'", JSON.stringify({ ...JSON.parse(row.value), ackTimeoutMs: ms }));
  });
}

async function subscribe(account: TestAccount) {
  const res = await call("POST", "/v1/whatsapp/webhooks", {
    key: account.key,
    body: { url: newEndpoint().url, events: ["message.sent", "message.failed", "message.delivered"] },
  });
  expect(res.status, res.text).toBe(201);
}

async function sendText(key: string, sessionId: string, to: string, content: string): Promise<string> {
  const res = await send(key, { whatsapp_session_id: sessionId, to_number: [`+${to}`], type: "text", content });
  expect(res.status, res.text).toBe(201);
  return res.json.data.messages[0].id;
}

describe("the server's ack decides sent", () => {
  it("a send refused with ack error 463 ends failed (no_trusted_contact_token), refunded once, with no message.sent", async () => {
    const account = await createAccount({ balance: 1000, message_cost: 10 });
    await subscribe(account);
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Cold" });
    await fault(account.key, session.id, { kind: "refuse_acks", code: "463" });

    const id = await sendText(account.key, session.id, contact.phone_number, "first contact");
    expect(await balanceOf(account.key)).toBe(990);
    const failed = await waitForStatus(account.key, id, "failed");
    expect(failed.reason).toBe("no_trusted_contact_token");
    expect(failed.sent_at ?? null).toBeNull();
    expect(await balanceOf(account.key)).toBe(1000);
    // Final: the recorded events of this message are one failure, never a `sent`.
    await expect.poll(() => eventsOf(account.id, id), { timeout: 10_000, interval: 100 }).toEqual(["message.failed"]);
    // The server refused it before the ack: the contact never got it.
    const refused = ((await sandboxOf(account.id).events(1000)) as { kind: string; detail: any }[]).filter((e) => e.kind === "message_refused");
    expect(refused.map((e) => e.detail.code)).toEqual(["463"]);
    expect((await sandboxOf(account.id).inbox(contact.phone_number)).some((m: any) => m.text === "first contact")).toBe(false);

    // Acks back to normal: the next message is sent, once.
    await fault(account.key, session.id, { kind: "normal_acks" });
    const ok = await sendText(account.key, session.id, contact.phone_number, "second try");
    const sent = await waitForStatus(account.key, ok, "delivered");
    expect(sent.provider_message_id).toMatch(/^3EB0/);
    expect(await balanceOf(account.key)).toBe(990);
    const okEvents = await eventsOf(account.id, ok);
    expect(okEvents.filter((e) => e === "message.sent")).toHaveLength(1);
    expect(okEvents.indexOf("message.sent")).toBeLessThan(okEvents.indexOf("message.delivered"));
    // Still refunded exactly once.
    expect((await message(account.key, id)).status).toBe("failed");
    expect(await balanceOf(account.key)).toBe(990);
  }, 90_000);

  it("any other ack error ends failed as whatsapp_error_<code> (479), refunded, and its content is not kept for resends", async () => {
    const account = await createAccount({ balance: 1000, message_cost: 10 });
    await subscribe(account);
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Odd" });
    await fault(account.key, session.id, { kind: "refuse_acks", code: "479" });

    const id = await sendText(account.key, session.id, contact.phone_number, "malformed, says the server");
    const failed = await waitForStatus(account.key, id, "failed");
    expect(failed.reason).toBe("whatsapp_error_479");
    expect(await balanceOf(account.key)).toBe(1000);
    await expect.poll(() => eventsOf(account.id, id), { timeout: 10_000, interval: 100 }).toEqual(["message.failed"]);
    const refused = ((await sandboxOf(account.id).events(1000)) as { kind: string; detail: any }[]).filter((e) => e.kind === "message_refused");
    expect(refused.map((e) => e.detail.code)).toEqual(["479"]);
    // Refused, so never asked for again: the stored copy is gone.
    const kept = await runInDurableObject(sessionObject(session.id), (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sent_messages").one().n);
    expect(kept).toBe(0);
  }, 60_000);

  it("is not sent while the server holds the ack, though the contact already has it", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Slow", receipt_policy: { delivered: "manual" } });
    await fault(account.key, session.id, { kind: "delay_acks", ms: 6000 });

    const id = await sendText(account.key, session.id, contact.phone_number, "held ack");
    const sandbox = sandboxOf(account.id);
    await expect.poll(async () => (await sandbox.inbox(contact.phone_number)).some((m: any) => m.text === "held ack"), { timeout: 20_000, interval: 50 }).toBe(true);
    const seenAt = Date.now();
    const during = await message(account.key, id);
    // Only meaningful while the ack is still held (6 s from the server's decrypt).
    expect(Date.now() - seenAt).toBeLessThan(3000);
    expect(during.status).toBe("queued");
    const sent = await waitForStatus(account.key, id, "sent");
    expect(Date.parse(sent.sent_at)).toBeGreaterThanOrEqual(seenAt);
  }, 60_000);

  it("missing acks are resent with the same id on each new socket, never spent as attempts: the contact has it once, sent once", async () => {
    const account = await createAccount({ balance: 1000 });
    await subscribe(account);
    const { session } = await linkedSession(account.key);
    await setAckTimeout(session.id, 2000);
    const contact = await createPhone(account.key, { name: "Later", receipt_policy: { delivered: "manual" } });
    // Longer than the sender's ack bound: every send of this outage sees no ack.
    await fault(account.key, session.id, { kind: "delay_acks", ms: 60_000 });

    const id = await sendText(account.key, session.id, contact.phone_number, "ack lost");
    const sandbox = sandboxOf(account.id);
    const decrypted = async () =>
      ((await sandbox.events(1000)) as { kind: string; detail: any }[]).filter((e) => e.kind === "message_decrypted" && e.detail?.to === contact.phone_number);
    // Four sends without an ack (more than the three attempts a failure may use), each on a new
    // socket, and the message is still waiting, not failed.
    await expect.poll(async () => (await decrypted()).length, { timeout: 60_000, interval: 200 }).toBeGreaterThanOrEqual(4);
    expect((await message(account.key, id)).status).toBe("queued");
    // The outage ends: the next resend of the same stanza id is acked.
    await fault(account.key, session.id, { kind: "normal_acks" });
    const sent = await waitForStatus(account.key, id, "sent", 40_000);
    const ids = new Set((await decrypted()).map((e) => e.detail.id));
    expect([...ids]).toEqual([sent.provider_message_id]);
    const inbox = (await sandbox.inbox(contact.phone_number)).filter((m: any) => m.text === "ack lost");
    expect(inbox).toHaveLength(1);
    expect(inbox[0].id).toBe(sent.provider_message_id);
    await expect.poll(() => eventsOf(account.id, id), { timeout: 10_000, interval: 100 }).toEqual(["message.sent"]);
  }, 120_000);

  it("a delivery receipt that overtakes the held ack still moves the message to delivered", async () => {
    const account = await createAccount({ balance: 1000 });
    await subscribe(account);
    const { session } = await linkedSession(account.key);
    // The phone answers at once; the server holds its ack 2 s: the receipt comes first.
    const contact = await createPhone(account.key, { name: "Quick", receipt_policy: { delivered: "auto", delivered_delay_ms: 0 } });
    await fault(account.key, session.id, { kind: "delay_acks", ms: 2000 });

    const id = await sendText(account.key, session.id, contact.phone_number, "receipt first");
    const delivered = await waitForStatus(account.key, id, "delivered", 30_000);
    expect(delivered.provider_message_id).toMatch(/^3EB0/);
    expect(delivered.sent_at).toBeTruthy();
    await expect.poll(() => eventsOf(account.id, id), { timeout: 10_000, interval: 100 }).toEqual(["message.sent", "message.delivered"]);
  }, 60_000);

  it("an ack already recorded in the outbox (D1 write failed) is only written to D1 on the retry, never sent again", async () => {
    const account = await createAccount({ balance: 1000 });
    await subscribe(account);
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Once" });
    const res = await send(account.key, {
      whatsapp_session_id: session.id,
      to_number: [`+${contact.phone_number}`],
      type: "text",
      content: "acked, D1 was down",
      scheduled_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(res.status, res.text).toBe(201);
    const id = res.json.data.messages[0].id;
    const outboxRow = () =>
      runInDurableObject(sessionObject(session.id), (_, state) =>
        state.storage.sql.exec<{ wa_id: string }>("SELECT wa_id FROM outbox WHERE message_id = ?", id).toArray()[0],
      );
    await expect.poll(outboxRow, { timeout: 20_000, interval: 100 }).toBeTruthy();
    const { wa_id: waId } = (await outboxRow())!;
    // As after a good ack whose D1 write threw: the ack is in the outbox, D1 still says scheduled.
    const ackedAt = Date.now() - 1000;
    await runInDurableObject(sessionObject(session.id), (_, state) => {
      state.storage.sql.exec("UPDATE outbox SET acked_at = ?, due_at = ? WHERE message_id = ?", ackedAt, Date.now(), id);
    });
    await setDue(session.id, "outbox");

    const sent = await waitForStatus(account.key, id, "sent");
    expect(sent.provider_message_id).toBe(waId);
    expect(Date.parse(sent.sent_at)).toBe(ackedAt);
    await expect.poll(() => eventsOf(account.id, id), { timeout: 10_000, interval: 100 }).toEqual(["message.sent"]);
    const log = (await sandboxOf(account.id).events(1000)) as { kind: string; detail: any }[];
    expect(log.filter((e) => e.kind === "message_decrypted" && e.detail?.id === waId)).toEqual([]);
  }, 60_000);
});
