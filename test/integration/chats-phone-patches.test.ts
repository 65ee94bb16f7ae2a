import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { contactWrites } from "../helpers/bot";
import { chatOf, storedIncoming } from "../helpers/chats";
import { connectedSession } from "../helpers/messages";
import { poll } from "../helpers/sandbox-client";
import { createPhone } from "../helpers/sessions";

// The phone changes a chat's settings itself: it pushes its own app-state patch, the linked session
// hears server_sync, fetches and decrypts it (Baileys resyncAppState → chats.update) and the chat
// list shows the phone's change.

let account: TestAccount;
let session: { id: string; phone_number: string };
let hana: string;

beforeAll(async () => {
  account = await createAccount({ balance: 10_000, message_cost: 10, plan: "pro" });
  session = await connectedSession(account.key);
  hana = (await createPhone(account.key, { name: "Hana" })).phone_number;
  await storedIncoming(session.id, await contactWrites(account, hana, session.phone_number, "Hello"));
  await storedIncoming(session.id, await contactWrites(account, hana, session.phone_number, "Anyone there?"));
}, 60_000);

async function phoneDoes(body: Record<string, unknown>) {
  const res = await call("POST", `/v1/sandbox/phones/${session.phone_number}/chat-actions`, { key: account.key, body: { chat: hana, ...body } });
  expect(res.status, res.text).toBe(200);
  return res.json.patch;
}

const chat = () => chatOf(account.key, session.id, hana);

describe("the phone's own chat patches reach the gateway", () => {
  it("archive and unarchive", async () => {
    expect(await phoneDoes({ action: "archive" })).toMatchObject({ collection: "regular_low", version: expect.any(Number) });
    await expect.poll(async () => (await chat())?.archived, poll).toBe(true);
    await phoneDoes({ action: "unarchive" });
    await expect.poll(async () => (await chat())?.archived, poll).toBe(false);
  });

  it("pin", async () => {
    await phoneDoes({ action: "pin" });
    await expect.poll(async () => (await chat())?.pinned, poll).toBe(true);
    expect((await chat()).pinned_at).toEqual(expect.any(String));
  });

  it("mute until a time", async () => {
    const until = new Date(Date.now() + 3_600_000).toISOString();
    expect(await phoneDoes({ action: "mute", until })).toMatchObject({ collection: "regular_high" });
    await expect.poll(async () => (await chat())?.muted, poll).toBe(true);
    expect(Date.parse((await chat()).muted_until)).toBe(Date.parse(until));
  });

  it("marking the chat read on the phone clears the unread count", async () => {
    expect((await chat()).unread_count).toBe(2);
    await phoneDoes({ action: "read" });
    await expect.poll(async () => (await chat())?.unread_count, poll).toBe(0);
  });

  it("the phone's view holds its own patches next to the session's", async () => {
    const res = await call("GET", `/v1/sandbox/phones/${session.phone_number}/app-state`, { key: account.key });
    expect(res.json.app_state.problems).toEqual([]);
    expect(res.json.app_state.chats.find((c: any) => c.chat === `${hana}@s.whatsapp.net`)).toMatchObject({ archived: false, pinned: true, muted: true, read: true });
  });

  it("archiving the pinned chat unpins it", async () => {
    await phoneDoes({ action: "archive" });
    await expect.poll(async () => (await chat())?.archived, poll).toBe(true);
    await expect.poll(async () => (await chat())?.pinned, poll).toBe(false);
  });
});
