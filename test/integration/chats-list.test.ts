import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { contactWrites } from "../helpers/bot";
import { listChats, phoneWritesGroup, storedIncoming } from "../helpers/chats";
import { connectedSession, send } from "../helpers/messages";
import { sandboxOf } from "../helpers/sandbox-client";
import { createPhone } from "../helpers/sessions";

// GET …/chats: the session's chats (contacts and groups) from the messages it sent and received,
// each with its last message and unread count, newest activity first, paged; other accounts get 404.

let account: TestAccount;
let session: { id: string; phone_number: string };
let hana: string;
let ivo: string;
let group: string;

beforeAll(async () => {
  account = await createAccount({ balance: 10_000, message_cost: 10, plan: "pro" });
  session = await connectedSession(account.key);
  hana = (await createPhone(account.key, { name: "Hana" })).phone_number;
  ivo = (await createPhone(account.key, { name: "Ivo" })).phone_number;
  group = (await sandboxOf(account.id).createGroup(ivo, { subject: "Team", members: [session.phone_number, hana] })).jid;
}, 60_000);

describe("GET /v1/whatsapp/sessions/{id}/chats", () => {
  it("lists contacts and groups with their last message and unread count", async () => {
    const first = await contactWrites(account, hana, session.phone_number, "Hi there");
    const second = await contactWrites(account, hana, session.phone_number, "Are you open today?");
    await storedIncoming(session.id, first);
    await storedIncoming(session.id, second);
    const sent = await send(account.key, { whatsapp_session_id: session.id, to_number: [ivo], type: "text", content: "Hello Ivo" });
    expect(sent.status, sent.text).toBe(201);
    const inGroup = await phoneWritesGroup(account, ivo, group, "Team meeting at 10");
    await storedIncoming(session.id, inGroup);

    const page = await listChats(account.key, session.id, "?limit=100");
    const byId = Object.fromEntries(page.data.map((c: any) => [c.chat_id, c]));
    expect(byId[hana]).toMatchObject({
      type: "individual",
      unread_count: 2,
      archived: false,
      pinned: false,
      muted: false,
      last_message: { type: "text", direction: "incoming", preview: "Are you open today?" },
    });
    expect(byId[ivo]).toMatchObject({ type: "individual", unread_count: 0, last_message: { direction: "outgoing", preview: "Hello Ivo" } });
    expect(byId[group]).toMatchObject({ type: "group", unread_count: 1, last_message: { direction: "incoming", preview: "Team meeting at 10" } });
    // Newest activity first: the group message came last.
    expect(page.data[0].chat_id).toBe(group);
  });

  it("filters by type and pages with a cursor", async () => {
    const groups = await listChats(account.key, session.id, "?type=group");
    expect(groups.data.map((c: any) => c.chat_id)).toEqual([group]);
    const individuals = await listChats(account.key, session.id, "?type=individual");
    expect(individuals.data.every((c: any) => c.type === "individual")).toBe(true);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await listChats(account.key, session.id, `?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.data.length).toBeLessThanOrEqual(1);
      seen.push(...page.data.map((c: any) => c.chat_id));
      cursor = page.meta.next_cursor;
    } while (cursor);
    const all = await listChats(account.key, session.id, "?limit=100");
    expect(seen).toEqual(all.data.map((c: any) => c.chat_id));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("puts pinned chats first, across pages", async () => {
    const pinned = await call("POST", `/v1/whatsapp/sessions/${session.id}/chats/${ivo}/pin`, { key: account.key });
    expect(pinned.status, pinned.text).toBe(200);
    const all = await listChats(account.key, session.id, "?limit=100");
    expect(all.data[0]).toMatchObject({ chat_id: ivo, pinned: true });
    const first = await listChats(account.key, session.id, "?limit=1");
    const second = await listChats(account.key, session.id, `?limit=1&cursor=${first.meta.next_cursor}`);
    expect([first.data[0].chat_id, second.data[0].chat_id]).toEqual([ivo, group]);
  });

  it("refuses a cursor it did not make", async () => {
    const res = await call("GET", `/v1/whatsapp/sessions/${session.id}/chats?cursor=nope`, { key: account.key });
    expect(res.status).toBe(422);
  });

  it("answers 404 for another account's session", async () => {
    const other = await createAccount();
    const res = await call("GET", `/v1/whatsapp/sessions/${session.id}/chats`, { key: other.key });
    expect(res.status).toBe(404);
    const messages = await call("GET", `/v1/whatsapp/sessions/${session.id}/chats/${hana}/messages`, { key: other.key });
    expect(messages.status).toBe(404);
  });
});
