import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { contactWrites } from "../helpers/bot";
import { storedIncoming } from "../helpers/chats";
import { connectedSession, send } from "../helpers/messages";
import { createPhone } from "../helpers/sessions";

// GET …/chats/{chat_id}/messages: one conversation from the stored messages, both directions,
// newest first, cursor pages; after a clear, older messages are hidden.

let account: TestAccount;
let session: { id: string; phone_number: string };
let hana: string;
let ivo: string;

beforeAll(async () => {
  account = await createAccount({ balance: 10_000, message_cost: 10, plan: "pro" });
  session = await connectedSession(account.key);
  hana = (await createPhone(account.key, { name: "Hana" })).phone_number;
  ivo = (await createPhone(account.key, { name: "Ivo" })).phone_number;
}, 60_000);

const conversation = (chat: string, query = "") => call("GET", `/v1/whatsapp/sessions/${session.id}/chats/${chat}/messages${query}`, { key: account.key });

async function sendText(to: string, content: string) {
  const res = await send(account.key, { whatsapp_session_id: session.id, to_number: [to], type: "text", content });
  expect(res.status, res.text).toBe(201);
  return res.json.data.messages[0].id;
}

describe("GET /v1/whatsapp/sessions/{id}/chats/{chat_id}/messages", () => {
  it("answers both directions of one chat, newest first, in pages", async () => {
    const a = (await storedIncoming(session.id, await contactWrites(account, hana, session.phone_number, "Hi"))).id;
    const b = await sendText(hana, "Hello Hana");
    const c = (await storedIncoming(session.id, await contactWrites(account, hana, session.phone_number, "How are you?"))).id;
    await sendText(ivo, "Not this chat");

    const all = await conversation(hana, "?limit=100");
    expect(all.status, all.text).toBe(200);
    expect(all.json.data.map((m: any) => m.id)).toEqual([c, b, a]);
    expect(all.json.data.map((m: any) => m.direction)).toEqual(["incoming", "outgoing", "incoming"]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await conversation(hana, `?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.json.data.map((m: any) => m.id));
      cursor = page.json.meta.next_cursor;
    } while (cursor);
    expect(seen).toEqual([c, b, a]);
  });

  it("hides messages from before a clear", async () => {
    const cleared = await call("DELETE", `/v1/whatsapp/sessions/${session.id}/chats/${hana}/messages`, { key: account.key });
    expect(cleared.status, cleared.text).toBe(200);
    expect((await conversation(hana)).json.data).toEqual([]);
    const after = (await storedIncoming(session.id, await contactWrites(account, hana, session.phone_number, "After the clear"))).id;
    expect((await conversation(hana)).json.data.map((m: any) => m.id)).toEqual([after]);
    // Other chats keep theirs.
    expect((await conversation(ivo)).json.data).toHaveLength(1);
  });

  it("refuses a chat id that is not one", async () => {
    expect((await conversation("not-a-chat")).status).toBe(422);
  });
});
