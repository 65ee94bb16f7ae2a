import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { call, type TestAccount } from "./api";
import { poll } from "./sandbox-client";

// The chat routes, and waiting for what a sandbox phone wrote to be stored by the session.

export async function listChats(key: string, session: string, query = "") {
  const res = await call("GET", `/v1/whatsapp/sessions/${session}/chats${query}`, { key });
  expect(res.status, res.text).toBe(200);
  return res.json;
}

export async function chatOf(key: string, session: string, chatId: string) {
  let found: any;
  for (let cursor: string | null = null, first = true; first || cursor; first = false) {
    const page: any = await listChats(key, session, `?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
    found ??= page.data.find((c: any) => c.chat_id === chatId);
    cursor = page.meta.next_cursor;
  }
  return found;
}

/** The stored incoming row of this WhatsApp message id, once the session stored it (usable in beforeAll). */
export async function storedIncoming(sessionUuid: string, providerId: string): Promise<any> {
  const deadline = Date.now() + poll.timeout;
  while (Date.now() < deadline) {
    const row = await env.DB.prepare("SELECT * FROM messages WHERE whatsapp_session_id = ? AND provider_message_id = ? AND direction = 'incoming'")
      .bind(sessionUuid, providerId)
      .first();
    if (row) return row;
    await new Promise((r) => setTimeout(r, poll.interval));
  }
  throw new Error(`message ${providerId} was not stored`);
}

/** A sandbox phone writes to a group; returns the WhatsApp message id. */
export async function phoneWritesGroup(account: TestAccount, from: string, group: string, text: string): Promise<string> {
  const res = await call("POST", `/v1/sandbox/groups/${group}/messages`, { key: account.key, body: { from, type: "text", text } });
  expect(res.status, res.text).toBe(201);
  return res.json.message.id;
}
