import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SessionSocket } from "../../src/session/session-socket";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { sandboxOf } from "../helpers/sandbox-client";
import { createPhone, linkedSession, sessionObject, waitForSession } from "../helpers/sessions";
import { newEndpoint, waitForRequests } from "../helpers/webhook-receiver";

// A new contact's first message must reach the account's webhook in seconds, whatever Baileys'
// event buffer is doing (it holds events after login while it waits for the phone's history sync,
// up to 20 s; and up to 30 s in other paths). The sandbox sends prekey-count notifications only
// when a device runs low, as WhatsApp does, so no stray notification releases the buffer here.

async function receiverFor(account: TestAccount) {
  const endpoint = newEndpoint();
  const hook = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: endpoint.url, events: ["message.received"] } });
  expect(hook.status, hook.text).toBe(201);
  return endpoint;
}

/** A new contact writes; returns when the phone sent it (after its keys were made). */
async function contactWrites(account: TestAccount, to: string, text: string) {
  const contact = await createPhone(account.key, { name: "New contact" });
  const sentAt = Date.now();
  const res = await call("POST", `/v1/sandbox/phones/${contact.phone_number}/messages`, { key: account.key, body: { to, type: "text", text } });
  expect(res.status, res.text).toBe(201);
  return { contact, sentAt };
}

/** Sandbox events of one kind about the account's number `phone` (digits), oldest first. */
async function phoneEvents(accountId: string, phone: string, kind: string) {
  const events = (await sandboxOf(accountId).events(500)) as { kind: string; detail: any }[];
  return events.filter((e) => e.kind === kind && e.detail?.phone === phone).map((e) => e.detail);
}

describe("a new contact's first message", () => {
  it("reaches a webhook receiver in under 5 s", async () => {
    const account = await createAccount({ balance: 1000 });
    const endpoint = await receiverFor(account);
    const { session } = await linkedSession(account.key);
    const { sentAt } = await contactWrites(account, session.phone_number, "Hi, first time here");
    const [arrived] = await waitForRequests(endpoint.key, 1, 30_000);
    expect(JSON.parse(arrived.body)).toMatchObject({ type: "message.received", data: { content: "Hi, first time here" } });
    expect(arrived.at - sentAt).toBeLessThan(5_000);
  }, 60_000);

  it("delivered offline while Baileys still waits for the history sync, reaches the receiver in under 5 s", async () => {
    const account = await createAccount({ balance: 1000 });
    const endpoint = await receiverFor(account);
    const { session } = await linkedSession(account.key);
    const off = await call("PATCH", `/v1/whatsapp/sessions/${session.id}/disconnect`, { key: account.key });
    expect(off.status, off.text).toBe(200);
    await waitForSession(account.key, session.id, (s) => s.status === "disconnected");
    // As if the first socket had dropped before the phone's history sync completed: Baileys then
    // waits for it again (20 s) after the next login, buffering events meanwhile.
    const stub = sessionObject(session.id) as unknown as DurableObjectStub;
    await runInDurableObject(stub, (instance: unknown) => {
      (instance as { conn: SessionSocket }).conn.auth().state.creds.accountSyncCounter = 0;
    });
    for (const n of [1, 2, 3]) await contactWrites(account, session.phone_number, `Wrote while you were away ${n}`);
    const reconnectAt = Date.now();
    const on = await call("PATCH", `/v1/whatsapp/sessions/${session.id}/reconnect`, { key: account.key });
    expect(on.status, on.text).toBe(200);
    const arrived = await waitForRequests(endpoint.key, 3, 40_000);
    expect(arrived.map((r) => JSON.parse(r.body).data.content).sort()).toEqual([1, 2, 3].map((n) => `Wrote while you were away ${n}`));

    for (const r of arrived) expect(r.at - reconnectAt).toBeLessThan(5_000);
  }, 60_000);

  it("when the device runs low on prekeys, the server says so, the gateway tops them up, and the message still arrives in under 5 s", async () => {
    const account = await createAccount({ balance: 1000 });
    const endpoint = await receiverFor(account);
    const { session } = await linkedSession(account.key);
    const own = session.phone_number.replace(/^\+/, "");
    // As if 807 contacts had already started sessions with this device: 5 one-time prekeys left.
    await runInDurableObject(sandboxOf(account.id) as unknown as DurableObjectStub, (_instance: unknown, state: DurableObjectState) => {
      state.storage.sql.exec(
        "DELETE FROM companion_prekeys WHERE phone = ? AND key_id NOT IN (SELECT key_id FROM companion_prekeys WHERE phone = ? ORDER BY key_id LIMIT 5)",
        own,
        own,
      );
    });
    const { sentAt } = await contactWrites(account, session.phone_number, "Hello from contact 808");
    const [arrived] = await waitForRequests(endpoint.key, 1, 30_000);
    expect(arrived.at - sentAt).toBeLessThan(5_000);
    // The server's PreKeyLow notification (4 left), answered by an upload of more.
    await expect.poll(() => phoneEvents(account.id, own, "prekeys_low"), { timeout: 10_000, interval: 100 }).toEqual([expect.objectContaining({ count: 4 })]);
    await expect.poll(async () => (await phoneEvents(account.id, own, "prekeys_uploaded")).at(-1)?.count, { timeout: 10_000, interval: 100 }).toBe(5);
  }, 60_000);
});
