import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { poll } from "../helpers/sandbox-client";
import { createPhone, linkedSession } from "../helpers/sessions";

// Deleting a session deletes what it learned of people and chats (its messages stay readable);
// another account's delete touches none of it.

let account: TestAccount;
let other: TestAccount;

beforeAll(async () => {
  account = await createAccount({ plan: "pro" });
  other = await createAccount({ plan: "pro" });
});

const rowsOf = async (sessionUuid: string) => {
  const contacts = await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE session_id = ?").bind(sessionUuid).first<{ n: number }>();
  const chats = await env.DB.prepare("SELECT count(*) AS n FROM chats WHERE session_id = ?").bind(sessionUuid).first<{ n: number }>();
  return { contacts: contacts!.n, chats: chats!.n };
};

describe("deleting a session", () => {
  it("removes its contacts and chat state, only for its own account", async () => {
    const { session, phone } = await linkedSession(account.key);
    const friend = await createPhone(account.key, { name: "Friend" });
    const sent = await call("POST", `/v1/sandbox/phones/${friend.phone_number}/messages`, { key: account.key, body: { to: phone.phone_number, type: "text", text: "hi" } });
    expect(sent.status, sent.text).toBe(201);
    await expect.poll(async () => (await rowsOf(session.id)).contacts, poll).toBeGreaterThan(0);
    const archived = await call("POST", `/v1/whatsapp/sessions/${session.id}/chats/${friend.phone_number}/archive`, { key: account.key });
    expect(archived.status, archived.text).toBe(200);
    expect((await rowsOf(session.id)).chats).toBeGreaterThan(0);

    expect((await call("DELETE", `/v1/whatsapp/sessions/${session.id}`, { key: other.key })).status).toBe(404);
    const kept = await rowsOf(session.id);
    expect(kept.contacts).toBeGreaterThan(0);
    expect(kept.chats).toBeGreaterThan(0);

    const gone = await call("DELETE", `/v1/whatsapp/sessions/${session.id}`, { key: account.key });
    expect(gone.status, gone.text).toBe(200);
    expect(await rowsOf(session.id)).toEqual({ contacts: 0, chats: 0 });
    const messages = await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE whatsapp_session_id = ?").bind(session.id).first<{ n: number }>();
    expect(messages!.n).toBeGreaterThan(0);
  });
});
