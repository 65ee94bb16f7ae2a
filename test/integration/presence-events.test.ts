import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { poll } from "../helpers/sandbox-client";
import { createPhone, linkedSession } from "../helpers/sessions";
import { newEndpoint, received, waitFor } from "../helpers/webhook-receiver";

// Presence reaching a session (real Baileys against the sandbox's `<presence>` and `<chatstate>`
// stanzas) becomes `presence.update` webhooks at a real receiver; the phones act through the
// sandbox driver routes.

interface PresenceEvent {
  id: string;
  type: string;
  session_id: string;
  data: Record<string, any>;
}

async function hookPresence(account: TestAccount) {
  const endpoint = newEndpoint();
  const res = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: endpoint.url, events: ["presence.update"] } });
  expect(res.status, res.text).toBe(201);
  const wh = new Webhook(res.json.webhook.secret);
  const all = async () => (await received(endpoint.key)).map((r) => wh.verify(r.body, r.headers) as PresenceEvent);
  /** The events so far, once there are `n` of them. */
  const count = (n: number) => waitFor(`${n} presence events`, async () => {
    const events = await all();
    return events.length >= n ? events : undefined;
  });
  return { all, count };
}

async function drive(account: TestAccount, path: string, body: unknown) {
  const res = await call("POST", path, { key: account.key, body });
  expect(res.status, `${path}: ${res.text}`).toBe(200);
  return res.json;
}

async function sandboxPresence(account: TestAccount, phone: string) {
  const res = await call("GET", `/v1/sandbox/phones/${phone}/presence`, { key: account.key });
  expect(res.status, res.text).toBe(200);
  return res.json.presence as { state: string; last_seen: string | null };
}

/**
 * Sessions connect offline, and WhatsApp sends presence only to a device that shows online: the
 * session goes online, and the server has it (the account shows available) before going on.
 */
async function goOnline(account: TestAccount, session: { id: string; phone_number: string }) {
  const on = await call("PUT", `/v1/whatsapp/sessions/${session.id}/presence`, { key: account.key, body: { state: "available" } });
  expect(on.status, on.text).toBe(200);
  await expect.poll(async () => (await sandboxPresence(account, session.phone_number)).state, poll).toBe("available");
}

describe("presence.update webhooks", () => {
  it("a subscribed contact's online, offline and typing, with its phone number", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const me = session.phone_number as string;
    const hana = await createPhone(account.key, { name: "Hana" });
    const hook = await hookPresence(account);
    const chat = `${hana.phone_number}@s.whatsapp.net`;
    const base = { session_id: session.id, chat_id: chat, phone_number: hana.phone_number };
    await goOnline(account, session);

    const sub = await call("POST", `/v1/whatsapp/sessions/${session.id}/presence/${hana.phone_number}/subscribe`, { key: account.key });
    expect(sub.status, sub.text).toBe(200);
    expect(sub.json).toEqual({ success: true, chat_id: chat, state: "subscribed" });
    // The server answers a subscription with the current presence: Hana was never online.
    let events = await hook.count(1);
    expect(events[0].type).toBe("presence.update");
    expect(events[0].session_id).toBe(session.id);
    expect(events[0].data).toEqual({ ...base, state: "unavailable", last_seen: null });

    await drive(account, `/v1/sandbox/phones/${hana.phone_number}/presence`, { state: "available" });
    events = await hook.count(2);
    expect(events[1].data).toEqual({ ...base, state: "available", last_seen: null });

    await drive(account, `/v1/sandbox/phones/${hana.phone_number}/presence`, { state: "unavailable" });
    events = await hook.count(3);
    expect(events[2].data).toMatchObject({ ...base, state: "unavailable" });
    expect(Math.abs(Date.parse(events[2].data.last_seen) - Date.now())).toBeLessThan(60_000);

    // Chat states need no subscription: they are addressed to the session's account.
    // One at a time: webhook deliveries of separate events need not arrive in order.
    for (const [i, state] of ["typing", "recording", "paused"].entries()) {
      const sent = await drive(account, `/v1/sandbox/phones/${hana.phone_number}/chatstate`, { to: me, state });
      expect(sent.chatstate.devices).toBe(1);
      events = await hook.count(4 + i);
      expect(events[3 + i].data).toEqual({ ...base, state, last_seen: null });
    }
    // Each event is its own (presence is never journaled or merged).
    expect(new Set(events.map((e) => e.id)).size).toBe(6);

    // The last one heard is kept for reading back.
    const known = await call("GET", `/v1/whatsapp/sessions/${session.id}/presence/${hana.phone_number}`, { key: account.key });
    expect(known.status, known.text).toBe(200);
    expect(known.json.chat_id).toBe(chat);
    expect(known.json.presences).toHaveLength(1);
    expect(known.json.presences[0]).toMatchObject({ phone_number: hana.phone_number, lid: null, state: "paused", last_seen: null });
  }, 60_000);

  it("a session that shows offline hears no presence until it goes online; chat states it hears anyway", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const me = session.phone_number as string;
    const hana = await createPhone(account.key, { name: "Hana" });
    const hook = await hookPresence(account);

    // Connected, so offline (markOnlineOnConnect: false): the subscription is kept but not answered,
    // and Hana coming online is not pushed.
    const sub = await call("POST", `/v1/whatsapp/sessions/${session.id}/presence/${hana.phone_number}/subscribe`, { key: account.key });
    expect(sub.status, sub.text).toBe(200);
    await drive(account, `/v1/sandbox/phones/${hana.phone_number}/presence`, { state: "available" });
    await drive(account, `/v1/sandbox/phones/${hana.phone_number}/chatstate`, { to: me, state: "typing" });
    expect((await hook.count(1))[0].data).toMatchObject({ phone_number: hana.phone_number, state: "typing" });

    await goOnline(account, session);
    await drive(account, `/v1/sandbox/phones/${hana.phone_number}/presence`, { state: "unavailable" });
    const events = await hook.count(2);
    expect(events[1].data).toMatchObject({ phone_number: hana.phone_number, state: "unavailable" });
    expect(events[1].data.last_seen).not.toBeNull();
    expect(events).toHaveLength(2);
  }, 60_000);

  it("typing in a group names the member, with the group as the chat", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const me = session.phone_number as string;
    const hana = await createPhone(account.key, { name: "Hana" });
    const created = await call("POST", "/v1/sandbox/groups", { key: account.key, body: { owner: hana.phone_number, subject: "Chatty", members: [me] } });
    expect(created.status, created.text).toBe(201);
    const gid = created.json.group.jid as string;
    const hook = await hookPresence(account);

    await drive(account, `/v1/sandbox/phones/${hana.phone_number}/chatstate`, { to: gid, state: "typing" });
    const [event] = await hook.count(1);
    expect(event.data).toEqual({ session_id: session.id, chat_id: gid, phone_number: hana.phone_number, state: "typing", last_seen: null });
    const known = await call("GET", `/v1/whatsapp/sessions/${session.id}/presence/${encodeURIComponent(gid)}`, { key: account.key });
    expect(known.status, known.text).toBe(200);
    expect(known.json.presences.map((p: { phone_number: string; state: string }) => [p.phone_number, p.state])).toEqual([[hana.phone_number, "typing"]]);
  }, 60_000);

  it("a contact who hides its last seen goes offline without one", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const hana = await createPhone(account.key, { name: "Hana" });
    // Hana's privacy: last seen shown to nobody (the privacy iq's `last: none`).
    const privacy = await call("PATCH", `/v1/sandbox/phones/${hana.phone_number}/privacy`, { key: account.key, body: { last_seen: "none" } });
    expect(privacy.status, privacy.text).toBe(200);
    const hook = await hookPresence(account);
    await goOnline(account, session);
    await drive(account, `/v1/sandbox/phones/${hana.phone_number}/presence`, { state: "available" });
    const sub = await call("POST", `/v1/whatsapp/sessions/${session.id}/presence/${hana.phone_number}/subscribe`, { key: account.key });
    expect(sub.status, sub.text).toBe(200);
    expect((await hook.count(1))[0].data.state).toBe("available");
    await drive(account, `/v1/sandbox/phones/${hana.phone_number}/presence`, { state: "unavailable" });
    const events = await hook.count(2);
    expect(events[1].data).toMatchObject({ phone_number: hana.phone_number, state: "unavailable", last_seen: null });
    // The server did record when Hana was last online; it only withheld it.
    const own = await call("GET", `/v1/sandbox/phones/${hana.phone_number}/presence`, { key: account.key });
    expect(own.json.presence.last_seen).not.toBeNull();
  }, 60_000);

  it("a contact who shows online only to its contacts: nothing until it saves the session's number", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const me = session.phone_number as string;
    const hana = await createPhone(account.key, { name: "Hana" });
    const privacy = await call("PATCH", `/v1/sandbox/phones/${hana.phone_number}/privacy`, { key: account.key, body: { last_seen: "contacts", online: "match_last_seen" } });
    expect(privacy.status, privacy.text).toBe(200);
    const hook = await hookPresence(account);
    await goOnline(account, session);
    await drive(account, `/v1/sandbox/phones/${hana.phone_number}/presence`, { state: "available" });
    const sub = await call("POST", `/v1/whatsapp/sessions/${session.id}/presence/${hana.phone_number}/subscribe`, { key: account.key });
    expect(sub.status, sub.text).toBe(200);
    // The subscription is answered "unavailable", without a last seen, though Hana is online.
    expect((await hook.count(1))[0].data).toMatchObject({ phone_number: hana.phone_number, state: "unavailable", last_seen: null });
    // Going offline and online again tells nothing; a chat state (not covered by it) still arrives,
    // and is the next event.
    await drive(account, `/v1/sandbox/phones/${hana.phone_number}/presence`, { state: "unavailable" });
    await drive(account, `/v1/sandbox/phones/${hana.phone_number}/presence`, { state: "available" });
    await drive(account, `/v1/sandbox/phones/${hana.phone_number}/chatstate`, { to: me, state: "typing" });
    expect((await hook.count(2))[1].data.state).toBe("typing");

    // Once Hana saves the number, her changes reach the session.
    const saved = await call("PUT", `/v1/sandbox/phones/${hana.phone_number}/contacts/${me}`, { key: account.key, body: { name: "Me" } });
    expect(saved.status, saved.text).toBe(200);
    await drive(account, `/v1/sandbox/phones/${hana.phone_number}/presence`, { state: "unavailable" });
    const events = await hook.count(3);
    expect(events[2].data).toMatchObject({ phone_number: hana.phone_number, state: "unavailable" });
    expect(events[2].data.last_seen).not.toBeNull();
    expect(events).toHaveLength(3);
  }, 60_000);

  it("a contact WhatsApp addresses by LID: the LID alone, then beside the number once the session learns it", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const me = session.phone_number as string;
    const lia = await createPhone(account.key, { name: "Lia", lid_addressed: true });
    const hook = await hookPresence(account);
    const base = { session_id: session.id, lid: lia.lid, last_seen: null };

    // Nothing has told the session Lia's number yet: never a LID in `phone_number`.
    await drive(account, `/v1/sandbox/phones/${lia.phone_number}/chatstate`, { to: me, state: "typing" });
    expect((await hook.count(1))[0].data).toEqual({ ...base, chat_id: lia.lid, phone_number: null, state: "typing" });

    // A message carries her number beside her LID; once the session knows the pair, she has her number.
    const msg = await call("POST", `/v1/sandbox/phones/${lia.phone_number}/messages`, { key: account.key, body: { to: me, type: "text", text: "hi" } });
    expect(msg.status, msg.text).toBe(201);
    await expect.poll(async () => (await call("GET", `/v1/whatsapp/sessions/${session.id}/lids/${encodeURIComponent(lia.lid)}`, { key: account.key })).status, poll).toBe(200);
    await drive(account, `/v1/sandbox/phones/${lia.phone_number}/chatstate`, { to: me, state: "recording" });
    expect((await hook.count(2))[1].data).toEqual({ ...base, chat_id: `${lia.phone_number}@s.whatsapp.net`, phone_number: lia.phone_number, state: "recording" });

    // Found by the number and by the LID, as one person.
    for (const chat of [lia.phone_number, lia.lid]) {
      const known = await call("GET", `/v1/whatsapp/sessions/${session.id}/presence/${encodeURIComponent(chat)}`, { key: account.key });
      expect(known.status, known.text).toBe(200);
      expect(known.json.presences).toHaveLength(1);
      expect(known.json.presences[0]).toMatchObject({ phone_number: lia.phone_number, lid: lia.lid, state: "recording" });
    }
  }, 60_000);

  it("between two linked sessions: one's presence and typing reach the other", async () => {
    const account = await createAccount({ balance: 1000 });
    const a = (await linkedSession(account.key)).session;
    const b = (await linkedSession(account.key)).session;
    const hook = await hookPresence(account);
    const about = (sessionId: string, phone: string, state: string) => async () =>
      (await hook.all()).find((e) => e.session_id === sessionId && e.data.phone_number === phone && e.data.state === state);

    // B connected without showing online, and so has a last seen, before A subscribes.
    await expect
      .poll(async () => (await call("GET", `/v1/sandbox/phones/${b.phone_number}/presence`, { key: account.key })).json.presence.last_seen, poll)
      .not.toBeNull();
    await goOnline(account, a);
    const sub = await call("POST", `/v1/whatsapp/sessions/${a.id}/presence/${b.phone_number}/subscribe`, { key: account.key });
    expect(sub.status, sub.text).toBe(200);
    const first = await waitFor("B unavailable, to A", about(a.id, b.phone_number, "unavailable"));
    expect(first.data.last_seen).not.toBeNull();
    const on = await call("PUT", `/v1/whatsapp/sessions/${b.id}/presence`, { key: account.key, body: { state: "available" } });
    expect(on.status, on.text).toBe(200);
    await waitFor("B available, to A", about(a.id, b.phone_number, "available"));

    const typing = await call("POST", `/v1/whatsapp/sessions/${a.id}/chats/${b.phone_number}/presence`, { key: account.key, body: { state: "recording" } });
    expect(typing.status, typing.text).toBe(200);
    const heard = await waitFor("A recording, to B", about(b.id, a.phone_number, "recording"));
    expect(heard.data).toEqual({ session_id: b.id, chat_id: `${a.phone_number}@s.whatsapp.net`, phone_number: a.phone_number, state: "recording", last_seen: null });
  }, 60_000);

  it("another account's session is 404 on every presence route", async () => {
    const owner = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(owner.key);
    const other = await createAccount({ balance: 1000 });
    const base = `/v1/whatsapp/sessions/${session.id}`;
    const attempts: [string, string, unknown][] = [
      ["POST", `${base}/chats/14155552671/presence`, { state: "typing" }],
      ["PUT", `${base}/presence`, { state: "available" }],
      ["POST", `${base}/presence/14155552671/subscribe`, undefined],
      ["GET", `${base}/presence/14155552671`, undefined],
    ];
    for (const [method, path, body] of attempts) {
      const res = await call(method, path, { key: other.key, body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
    }
  });
});
