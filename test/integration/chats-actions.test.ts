import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { contactWrites } from "../helpers/bot";
import { chatOf, storedIncoming } from "../helpers/chats";
import { connectedSession } from "../helpers/messages";
import { poll } from "../helpers/sandbox-client";
import { createPhone } from "../helpers/sessions";

// Archive, pin, mute and clear go to WhatsApp as app-state patches (Baileys chatModify); the phone,
// which holds the app-state keys, decrypts them (its view), and the chat list shows the new state.

let account: TestAccount;
let session: { id: string; phone_number: string };
let hana: string;
const chatJid = () => `${hana}@s.whatsapp.net`;

beforeAll(async () => {
  account = await createAccount({ balance: 10_000, message_cost: 10, plan: "pro" });
  session = await connectedSession(account.key);
  hana = (await createPhone(account.key, { name: "Hana" })).phone_number;
  await storedIncoming(session.id, await contactWrites(account, hana, session.phone_number, "Hello"));
}, 60_000);

const act = (method: string, path: string, body?: unknown) => call(method, `/v1/whatsapp/sessions/${session.id}/chats/${hana}/${path}`, { key: account.key, body });

/** The session's phone's view of one chat, once `match` holds. */
async function phoneSees(match: (chat: any) => boolean) {
  let found: any;
  await expect
    .poll(async () => {
      const res = await call("GET", `/v1/sandbox/phones/${session.phone_number}/app-state`, { key: account.key });
      expect(res.status, res.text).toBe(200);
      expect(res.json.app_state.problems).toEqual([]);
      found = res.json.app_state.chats.find((c: any) => c.chat === chatJid());
      return !!found && match(found);
    }, poll)
    .toBe(true);
  return found;
}

describe("chat settings through app state", () => {
  it("archives (which unpins, as the app does) and unarchives", async () => {
    expect((await act("POST", "pin")).json.data.pinned).toBe(true);
    const res = await act("POST", "archive");
    expect(res.status, res.text).toBe(200);
    expect(res.json.data).toMatchObject({ chat_id: hana, archived: true, pinned: false });
    await phoneSees((c) => c.archived === true && c.pinned === false);
    expect((await chatOf(account.key, session.id, hana)).archived).toBe(true);
    const archived = await call("GET", `/v1/whatsapp/sessions/${session.id}/chats?archived=true`, { key: account.key });
    expect(archived.json.data.map((c: any) => c.chat_id)).toEqual([hana]);

    expect((await act("DELETE", "archive")).json.data.archived).toBe(false);
    await phoneSees((c) => c.archived === false);
  });

  it("pins and unpins", async () => {
    const res = await act("POST", "pin");
    expect(res.status, res.text).toBe(200);
    expect(res.json.data.pinned).toBe(true);
    expect(res.json.data.pinned_at).toEqual(expect.any(String));
    await phoneSees((c) => c.pinned === true);
    expect((await act("DELETE", "pin")).json.data.pinned).toBe(false);
    await phoneSees((c) => c.pinned === false);
  });

  it("mutes until a time, forever, and unmutes", async () => {
    const until = new Date(Date.now() + 8 * 3_600_000);
    const timed = await act("POST", "mute", { until: until.toISOString() });
    expect(timed.status, timed.text).toBe(200);
    expect(timed.json.data).toMatchObject({ muted: true });
    expect(Date.parse(timed.json.data.muted_until)).toBe(until.getTime());
    const seen = await phoneSees((c) => c.muted && c.muted_until !== null);
    expect(Date.parse(seen.muted_until)).toBe(until.getTime());

    const forever = await act("POST", "mute");
    expect(forever.json.data).toMatchObject({ muted: true, muted_until: null });
    await phoneSees((c) => c.muted && c.muted_until === null);

    expect((await act("DELETE", "mute")).json.data).toMatchObject({ muted: false, muted_until: null });
    await phoneSees((c) => !c.muted);
  });

  it("clears the history", async () => {
    const res = await act("DELETE", "messages");
    expect(res.status, res.text).toBe(200);
    expect(res.json.data.cleared_at).toEqual(expect.any(String));
    expect(res.json.data.last_message).toBeNull();
    expect(res.json.data.unread_count).toBe(0);
    await phoneSees((c) => c.cleared_at !== null);
  });

  it("refuses a mute end in the past", async () => {
    const res = await act("POST", "mute", { until: "2020-01-01T00:00:00Z" });
    expect(res.status).toBe(422);
  });
});
