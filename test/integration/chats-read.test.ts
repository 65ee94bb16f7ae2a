import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { contactWrites } from "../helpers/bot";
import { chatOf, phoneWritesGroup, storedIncoming } from "../helpers/chats";
import { connectedSession } from "../helpers/messages";
import { bytes, poll, sandboxOf } from "../helpers/sandbox-client";
import { createPhone, sandboxEventsOf } from "../helpers/sessions";

// POST …/chats/{chat_id}/read sends WhatsApp read receipts (Baileys readMessages; `played` for a
// voice note: sendReceipt type "played") for received messages; the sender's phone sees them read,
// and the chat's unread count drops.

let account: TestAccount;
let session: { id: string; session_id: string; phone_number: string };
let hana: string;
let ivo: string;

beforeAll(async () => {
  account = await createAccount({ balance: 10_000, message_cost: 10, plan: "pro" });
  session = await connectedSession(account.key);
  hana = (await createPhone(account.key, { name: "Hana" })).phone_number;
  ivo = (await createPhone(account.key, { name: "Ivo" })).phone_number;
}, 60_000);

const read = (chat: string, body?: unknown) => call("POST", `/v1/whatsapp/sessions/${session.id}/chats/${encodeURIComponent(chat)}/read`, { key: account.key, body });

/** The sender phone's copy of its message, once `match` holds. */
async function senderSees(phone: string, id: string, match: (m: any) => boolean) {
  await expect
    .poll(async () => {
      const res = await call("GET", `/v1/sandbox/phones/${phone}/inbox`, { key: account.key });
      const m = res.json.messages.find((x: any) => x.id === id && x.direction === "out");
      return !!m && match(m);
    }, poll)
    .toBe(true);
}

describe("POST /v1/whatsapp/sessions/{id}/chats/{chat_id}/read", () => {
  it("marks every unread message of a chat read; the sender sees read receipts", async () => {
    const ids = [await contactWrites(account, hana, session.phone_number, "One"), await contactWrites(account, hana, session.phone_number, "Two")];
    for (const id of ids) await storedIncoming(session.id, id);
    expect((await chatOf(account.key, session.id, hana)).unread_count).toBe(2);

    const res = await read(hana);
    expect(res.status, res.text).toBe(200);
    expect(res.json.data).toEqual({ chat_id: hana, status: "read", marked: 2 });
    for (const id of ids) await senderSees(hana, id, (m) => m.read_at !== null);
    expect((await chatOf(account.key, session.id, hana)).unread_count).toBe(0);

    // Nothing left unread: nothing sent.
    expect((await read(hana)).json.data.marked).toBe(0);
  });

  it("marks chosen messages only", async () => {
    const first = await storedIncoming(session.id, await contactWrites(account, ivo, session.phone_number, "First"));
    const second = await storedIncoming(session.id, await contactWrites(account, ivo, session.phone_number, "Second"));
    const res = await read(ivo, { message_ids: [first.id] });
    expect(res.json.data.marked).toBe(1);
    await senderSees(ivo, first.provider_message_id, (m) => m.read_at !== null);
    expect((await chatOf(account.key, session.id, ivo)).unread_count).toBe(1);
    const row = await call("GET", `/v1/whatsapp/messages/${second.id}`, { key: account.key });
    expect(row.json.data.read_at).toBeNull();
  });

  it("reads a group message with the sender as participant", async () => {
    const group = (await sandboxOf(account.id).createGroup(ivo, { subject: "Team", members: [session.phone_number, hana] })).jid;
    const id = await phoneWritesGroup(account, hana, group, "In the group");
    await storedIncoming(session.id, id);
    const res = await read(group);
    expect(res.json.data.marked).toBe(1);
    await senderSees(hana, id, (m) => m.read_at !== null);
    expect((await chatOf(account.key, session.id, group)).unread_count).toBe(0);
  });

  it("marks a received voice note played", async () => {
    const sent = await call("POST", `/v1/sandbox/phones/${hana}/messages`, {
      key: account.key,
      body: { to: session.phone_number, type: "audio", base64: btoa(String.fromCharCode(...bytes(2_000))), mimetype: "audio/ogg; codecs=opus", ptt: true },
    });
    expect(sent.status, sent.text).toBe(201);
    const row = await storedIncoming(session.id, sent.json.message.id);
    const res = await read(hana, { message_ids: [row.id], status: "played" });
    expect(res.json.data).toEqual({ chat_id: hana, status: "played", marked: 1 });
    await expect.poll(async () => (await sandboxEventsOf(account.id, session.id, "receipt_played")).map((e) => e.detail.id), poll).toContain(row.provider_message_id);
    await senderSees(hana, row.provider_message_id, (m) => m.read_at !== null);
  });

  it("refuses an id that is not a received message of the chat", async () => {
    const res = await read(hana, { message_ids: ["6f1c1b8e-8c1f-4f7e-9a57-1f2d3c4b5a69"] });
    expect(res.status).toBe(422);
  });

  it("refuses to mark a text message played, and marks nothing", async () => {
    const text = await storedIncoming(session.id, await contactWrites(account, hana, session.phone_number, "Not a voice note"));
    const res = await read(hana, { message_ids: [text.id], status: "played" });
    expect(res.status, res.text).toBe(422);
    expect(res.json.error.details).toBeDefined();
    const row = await call("GET", `/v1/whatsapp/messages/${text.id}`, { key: account.key });
    expect(row.json.data.read_at).toBeNull();
  });
});
