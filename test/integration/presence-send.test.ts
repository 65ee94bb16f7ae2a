import { describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { poll } from "../helpers/sandbox-client";
import { createPhone, linkedSession } from "../helpers/sessions";

// The session's own presence and chat states reach WhatsApp: real Baileys sends `<chatstate>` and
// `<presence>` stanzas, and the sandbox shows what each phone was sent and the account's presence.

interface Seen {
  from: string;
  chat: string;
  state: string;
  at: string;
}

async function seenBy(account: TestAccount, phone: string): Promise<Seen[]> {
  const res = await call("GET", `/v1/sandbox/phones/${phone}/chatstates`, { key: account.key });
  expect(res.status, res.text).toBe(200);
  return res.json.chatstates;
}

async function presenceOf(account: TestAccount, phone: string) {
  const res = await call("GET", `/v1/sandbox/phones/${phone}/presence`, { key: account.key });
  expect(res.status, res.text).toBe(200);
  return res.json.presence as { phone_number: string; state: string; last_seen: string | null };
}

async function chatState(account: TestAccount, sessionId: string, chat: string, state: string) {
  const res = await call("POST", `/v1/whatsapp/sessions/${sessionId}/chats/${encodeURIComponent(chat)}/presence`, { key: account.key, body: { state } });
  expect(res.status, res.text).toBe(200);
  return res.json;
}

describe("presence sent by a session", () => {
  it("typing, recording and paused reach the phone, in order", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const me = session.phone_number as string;
    const hana = await createPhone(account.key, { name: "Hana" });

    const answer = await chatState(account, session.id, `+${hana.phone_number}`, "typing");
    expect(answer).toEqual({ success: true, chat_id: `${hana.phone_number}@s.whatsapp.net`, state: "typing" });
    await expect.poll(async () => (await seenBy(account, hana.phone_number)).length, poll).toBe(1);
    await chatState(account, session.id, hana.phone_number, "recording");
    await expect.poll(async () => (await seenBy(account, hana.phone_number)).length, poll).toBe(2);
    await chatState(account, session.id, hana.phone_number, "paused");
    await expect.poll(async () => (await seenBy(account, hana.phone_number)).length, poll).toBe(3);

    const seen = await seenBy(account, hana.phone_number);
    expect(seen.map((s) => s.state)).toEqual(["typing", "recording", "paused"]);
    expect(seen.every((s) => s.from === me && s.chat === `${me}@s.whatsapp.net`)).toBe(true);
  });

  it("typing in a group reaches every other member, with the group as the chat", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const me = session.phone_number as string;
    const hana = await createPhone(account.key, { name: "Hana" });
    const ivo = await createPhone(account.key, { name: "Ivo" });
    const created = await call("POST", "/v1/sandbox/groups", { key: account.key, body: { owner: hana.phone_number, subject: "Typing", members: [me, ivo.phone_number] } });
    expect(created.status, created.text).toBe(201);
    const gid = created.json.group.jid as string;

    await chatState(account, session.id, gid, "typing");
    for (const member of [hana.phone_number, ivo.phone_number]) {
      await expect.poll(async () => (await seenBy(account, member)).map((s) => [s.from, s.chat, s.state]), poll).toEqual([[me, gid, "typing"]]);
    }
  });

  it("the session's own presence: offline after connecting, then available and unavailable on request", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const me = session.phone_number as string;
    // Our sessions connect without showing online (markOnlineOnConnect: false, baileys-host.ts):
    // Baileys says `unavailable` once connected, which sets the account's last seen.
    await expect.poll(async () => (await presenceOf(account, me)).last_seen, poll).not.toBeNull();
    expect((await presenceOf(account, me)).state).toBe("unavailable");

    const on = await call("PUT", `/v1/whatsapp/sessions/${session.id}/presence`, { key: account.key, body: { state: "available" } });
    expect(on.status, on.text).toBe(200);
    expect(on.json).toEqual({ success: true, chat_id: null, state: "available" });
    await expect.poll(async () => (await presenceOf(account, me)).state, poll).toBe("available");

    const off = await call("PUT", `/v1/whatsapp/sessions/${session.id}/presence`, { key: account.key, body: { state: "unavailable" } });
    expect(off.status, off.text).toBe(200);
    await expect.poll(async () => (await presenceOf(account, me)).state, poll).toBe("unavailable");
    const lastSeen = (await presenceOf(account, me)).last_seen;
    expect(Math.abs(Date.parse(lastSeen!) - Date.now())).toBeLessThan(60_000);
  });

  it("refuses a bad state or chat with 422, and a session not connected with 409", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const hana = await createPhone(account.key, { name: "Hana" });
    const base = `/v1/whatsapp/sessions/${session.id}`;

    const badState = await call("POST", `${base}/chats/${hana.phone_number}/presence`, { key: account.key, body: { state: "dancing" } });
    expect(badState.status, badState.text).toBe(422);
    const badChat = await call("POST", `${base}/chats/not-a-chat/presence`, { key: account.key, body: { state: "typing" } });
    expect(badChat.status, badChat.text).toBe(422);
    const badOwn = await call("PUT", `${base}/presence`, { key: account.key, body: { state: "typing" } });
    expect(badOwn.status, badOwn.text).toBe(422);
    const group = await call("POST", `${base}/presence/${encodeURIComponent("120363000000000001@g.us")}/subscribe`, { key: account.key });
    expect(group.status, group.text).toBe(422);
    expect(group.json.error.code).toBe("invalid_chat");

    const off = await call("PATCH", `${base}/disconnect`, { key: account.key });
    expect(off.status, off.text).toBe(200);
    const notConnected = await call("POST", `${base}/chats/${hana.phone_number}/presence`, { key: account.key, body: { state: "typing" } });
    expect(notConnected.status, notConnected.text).toBe(409);
    expect(notConnected.json.error.code).toBe("session_not_connected");
    // Nothing reached the phone.
    expect(await seenBy(account, hana.phone_number)).toEqual([]);
  });
});
