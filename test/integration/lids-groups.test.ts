import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { inbox } from "../helpers/bot";
import { send } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";
import { newEndpoint, received, waitFor } from "../helpers/webhook-receiver";

// A group WhatsApp addresses by LID (addressing_mode "lid"): metadata and notifications name
// members `<participant jid=LID phone_number=PN>`, messages come with `participant` = LID and
// `participant_pn`. Messages, mentions and group events still reach the user with numbers, and
// the session administers it naming members by number.

const poll = { timeout: 20_000, interval: 100 };

async function hook(account: TestAccount) {
  const endpoint = newEndpoint();
  const events = ["message.received", "group.joined", "group.participants"];
  const res = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: endpoint.url, events } });
  expect(res.status, res.text).toBe(201);
  const wh = new Webhook(res.json.webhook.secret);
  return (what: string, match: (e: any) => boolean) =>
    waitFor(what, async () => (await received(endpoint.key)).map((r) => wh.verify(r.body, r.headers) as any).find(match), 30_000);
}

async function drive(account: TestAccount, method: string, path: string, body?: unknown, status = 200) {
  const res = await call(method, path, { key: account.key, body });
  expect(res.status, `${method} ${path}: ${res.text}`).toBe(status);
  return res.json;
}

describe("a LID-addressed group", () => {
  it("delivers messages, mentions and group events with phone numbers", async () => {
    const account = await createAccount({ balance: 100 });
    const { session } = await linkedSession(account.key);
    const me = session.phone_number as string;
    const next = await hook(account);
    const hana = await createPhone(account.key, { name: "Hana" });
    const bob = await createPhone(account.key, { name: "Bob" });
    const carl = await createPhone(account.key, { name: "Carl" });

    const created = await drive(account, "POST", "/v1/sandbox/groups", { owner: hana.phone_number, subject: "LID team", members: [bob.phone_number, me], addressing_mode: "lid" }, 201);
    const gid = created.group.jid as string;
    const joined = await next("group.joined", (e) => e.type === "group.joined" && e.data.group_id === gid);
    expect(joined.data).toMatchObject({ by: hana.phone_number, owner: hana.phone_number, size: 3 });

    // The session's view of the group: members by number, LIDs beside them.
    const group = await call("GET", `/v1/whatsapp/sessions/${session.id}/groups/${gid}`, { key: account.key });
    expect(group.status, group.text).toBe(200);
    const numbers = (group.json.group.participants as any[]).map((p) => p.phone_number).sort();
    expect(numbers).toEqual([bob.phone_number, hana.phone_number, me].sort());

    // Bob writes, mentioning Hana and the session.
    const sent = await drive(account, "POST", `/v1/sandbox/groups/${gid}/messages`, { from: bob.phone_number, type: "text", text: "@Hana @me look", mentions: [hana.phone_number, me] }, 201);
    const event = await next("message.received", (e) => e.type === "message.received" && e.data.provider_message_id === sent.message.id);
    expect(event.data).toMatchObject({ chat_id: gid, chat_type: "group", from_number: bob.phone_number, from_lid: bob.lid, chat_lid: null, author: bob.phone_number, mentions_me: true });
    expect([...event.data.mentions].sort()).toEqual([hana.phone_number, me].sort());
    let rows: any[] = [];
    await expect.poll(async () => {
      rows = (await call("GET", `/v1/whatsapp/messages/${session.id}/session?filter[direction]=incoming`, { key: account.key })).json.data;
      return rows.length;
    }, poll).toBe(1);
    expect(rows[0]).toMatchObject({ from_number: bob.phone_number, from_lid: bob.lid, chat_lid: null });

    // Hana adds Carl: the event names him by number.
    await drive(account, "POST", `/v1/sandbox/phones/${hana.phone_number}/groups/${gid}/participants/add`, { participants: [carl.phone_number] });
    const added = await next("participants add", (e) => e.type === "group.participants" && e.data.group_id === gid && e.data.action === "add");
    expect(added.data).toMatchObject({ by: hana.phone_number, participants: [carl.phone_number], participants_lid: [] });

    // The session writes into the group: every member phone gets it.
    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: [gid], type: "text", content: "hello LID group" });
    expect(res.status, res.text).toBe(201);
    for (const p of [hana, bob, carl]) {
      await expect.poll(async () => (await inbox(account, p.phone_number)).map((m) => m.text), poll).toContain("hello LID group");
    }
    // The members' receipts come from their LIDs: listed by number (Carl's known only from the add notification).
    const id = res.json.data.messages[0].id;
    await expect
      .poll(async () => ((await call("GET", `/v1/whatsapp/messages/${id}/receipts`, { key: account.key })).json.data.receipts as any[]).map((r) => r.phone_number).sort(), poll)
      .toEqual([bob.phone_number, carl.phone_number, hana.phone_number].sort());
  });

  it("is administered by phone number: the session removes a member it knows by LID", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const me = session.phone_number as string;
    const next = await hook(account);
    const hana = await createPhone(account.key, { name: "Hana" });
    const carl = await createPhone(account.key, { name: "Carl" });
    const created = await drive(account, "POST", "/v1/sandbox/groups", { owner: hana.phone_number, subject: "LID admins", members: [carl.phone_number, me], addressing_mode: "lid" }, 201);
    const gid = created.group.jid as string;
    await next("group.joined", (e) => e.type === "group.joined" && e.data.group_id === gid);
    await drive(account, "POST", `/v1/sandbox/phones/${hana.phone_number}/groups/${gid}/participants/promote`, { participants: [me] });
    await next("promoted", (e) => e.type === "group.participants" && e.data.group_id === gid && e.data.action === "promote");

    // The session names Carl by number; the group knows him by LID.
    const res = await call("POST", `/v1/whatsapp/sessions/${session.id}/groups/${gid}/participants/remove`, { key: account.key, body: { participants: [carl.phone_number] } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.participants).toEqual([{ phone_number: carl.phone_number, lid: carl.lid, status: "removed", whatsapp_code: null }]);
    const removed = await next("participants remove", (e) => e.type === "group.participants" && e.data.group_id === gid && e.data.action === "remove");
    expect(removed.data).toMatchObject({ by: me, participants: [carl.phone_number], participants_lid: [] });
    const group = await call("GET", `/v1/whatsapp/sessions/${session.id}/groups/${gid}`, { key: account.key });
    expect((group.json.group.participants as any[]).map((p) => p.phone_number).sort()).toEqual([hana.phone_number, me].sort());
  });
});
