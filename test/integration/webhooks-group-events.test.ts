import type { WASocket } from "baileys";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, inject, it } from "vitest";
import { emitEvent } from "../../src/events/emit";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { poll, sandboxOf, sessionOf } from "../helpers/sandbox-client";
import { createPhone, fault, linkedSession, logins, sandboxEventsOf, setDue, waitForSession } from "../helpers/sessions";
import { newEndpoint, received, waitFor } from "../helpers/webhook-receiver";

// Group events from a real session (Baileys against the sandbox's w:gp2 notifications) reach a
// real receiver: group.joined, group.participants, group.updated, group.join_request, group.left.
// The phones act through the sandbox driver routes.

interface GroupEvent {
  id: string;
  type: string;
  session_id: string;
  data: Record<string, any>;
}

async function hookAll(account: TestAccount) {
  const endpoint = newEndpoint();
  const events = ["group.joined", "group.left", "group.participants", "group.updated", "group.join_request"];
  const res = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: endpoint.url, events } });
  expect(res.status, res.text).toBe(201);
  const wh = new Webhook(res.json.webhook.secret);
  /** Every verified event so far, oldest first. */
  const all = async () => (await received(endpoint.key)).map((r) => wh.verify(r.body, r.headers) as GroupEvent);
  /** Waits until an event matches. */
  const next = (what: string, match: (e: GroupEvent) => boolean) =>
    waitFor(what, async () => (await all()).find(match), 30_000);
  /** The events of the delivery rows (one per event: this webhook's), whatever the receiver has seen yet. */
  const emitted = async () => {
    const list = await call("GET", `/v1/whatsapp/webhooks/${res.json.webhook.id}/deliveries?limit=100`, { key: account.key });
    return (list.json.deliveries as { payload: GroupEvent }[]).map((d) => d.payload);
  };
  return { all, next, emitted };
}

async function drive(account: TestAccount, method: string, path: string, body?: unknown) {
  const res = await call(method, path, { key: account.key, body });
  expect(res.status, `${method} ${path}: ${res.text}`).toBe(method === "POST" && path === "/v1/sandbox/groups" ? 201 : 200);
  return res.json;
}

/** A linked session in a group a phone (Hana) made, its webhook receiver, and its group.joined in. */
async function sessionInGroup(subject: string) {
  const account = await createAccount({ balance: 1000 });
  const { session } = await linkedSession(account.key);
  const me = session.phone_number as string;
  const hooks = await hookAll(account);
  const hana = await createPhone(account.key, { name: "Hana" });
  const created = await drive(account, "POST", "/v1/sandbox/groups", { owner: hana.phone_number, subject, members: [me] });
  const gid = created.group.jid as string;
  await hooks.next("group.joined", (e) => e.type === "group.joined" && e.data.group_id === gid);
  return { account, session, me, hooks, hana, gid, phoneGroup: `/v1/sandbox/phones/${hana.phone_number}/groups/${gid}` };
}

/** Disconnects the session and waits until the sandbox has no socket of it. */
async function goOffline(account: TestAccount, sessionId: string) {
  const off = await call("PATCH", `/v1/whatsapp/sessions/${sessionId}/disconnect`, { key: account.key });
  expect(off.status, off.text).toBe(200);
  await waitForSession(account.key, sessionId, (s) => s.status === "disconnected");
  await expect.poll(async () => ((await sandboxOf(account.id).sockets()) as { session_id: string }[]).some((s) => s.session_id === sessionId), poll).toBe(false);
}

describe("group events to webhooks", () => {
  it("joined, participants, updated, join_request and left, with phone numbers", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const me = session.phone_number as string;
    const hooks = await hookAll(account);
    const hana = await createPhone(account.key, { name: "Hana" });
    const ivo = await createPhone(account.key, { name: "Ivo" });
    const zed = await createPhone(account.key, { name: "Zed" });
    const outsider = await createPhone(account.key, { name: "Olga" });

    const created = await drive(account, "POST", "/v1/sandbox/groups", { owner: hana.phone_number, subject: "Team", members: [me, ivo.phone_number] });
    const gid = created.group.jid as string;
    const joined = await hooks.next("group.joined", (e) => e.type === "group.joined" && e.data.group_id === gid);
    expect(joined.session_id).toBe(session.id);
    expect(joined.data).toEqual({ session_id: session.id, group_id: gid, by: hana.phone_number, name: "Team", description: null, owner: hana.phone_number, size: 3 });

    const phoneGroup = `/v1/sandbox/phones/${hana.phone_number}/groups/${gid}`;
    await drive(account, "POST", `${phoneGroup}/participants/add`, { participants: [zed.phone_number] });
    const added = await hooks.next("participants add", (e) => e.type === "group.participants" && e.data.action === "add");
    expect(added.data).toEqual({ session_id: session.id, group_id: gid, by: hana.phone_number, action: "add", participants: [zed.phone_number], participants_lid: [] });

    await drive(account, "POST", `${phoneGroup}/participants/promote`, { participants: [me] });
    const promoted = await hooks.next("participants promote", (e) => e.type === "group.participants" && e.data.action === "promote");
    expect(promoted.data).toMatchObject({ by: hana.phone_number, participants: [me] });

    await drive(account, "PATCH", phoneGroup, { subject: "Team 2", description: "All hands", announce: true, locked: true, join_approval: true });
    // The sandbox tells each change in its own notification: one group.updated each.
    const updates = await waitFor("every change", async () => {
      const found = (await hooks.all()).filter((e) => e.type === "group.updated");
      return found.length >= 5 ? found : undefined;
    });
    expect(updates.map((e) => e.data.changes)).toEqual(
      expect.arrayContaining([{ name: "Team 2" }, { description: "All hands" }, { announce: true }, { locked: true }, { join_approval: true }]),
    );
    expect(updates).toHaveLength(5);
    expect(updates.every((e) => e.data.by === hana.phone_number && e.data.group_id === gid)).toBe(true);

    // Someone asks to join by link: the session is an admin, so it hears of the request.
    const invite = await drive(account, "POST", `${phoneGroup}/invite-link`, {});
    const asked = await call("POST", `/v1/sandbox/phones/${outsider.phone_number}/group-join-requests`, { key: account.key, body: { link: invite.invite.link } });
    expect(asked.status, asked.text).toBe(200);
    expect(asked.json.result.status).toBe("pending");
    const request = await hooks.next("join request", (e) => e.type === "group.join_request");
    expect(request.data).toMatchObject({ session_id: session.id, group_id: gid, participant: outsider.phone_number, action: "created", method: "invite_link" });
    // A known number: no LID field beside it.
    expect(request.data).not.toHaveProperty("participant_lid");
    await drive(account, "POST", `${phoneGroup}/requests/reject`, { participants: [outsider.phone_number] });
    const rejected = await hooks.next("join request rejected", (e) => e.type === "group.join_request" && e.data.action === "rejected");
    expect(rejected.data).toMatchObject({ by: hana.phone_number, participant: outsider.phone_number });

    // A new link (admins hear of it), who may add members, and the description removed.
    await drive(account, "POST", `${phoneGroup}/invite-link`, { reset: true });
    await hooks.next("invite link reset", (e) => e.type === "group.updated" && e.data.changes.invite_link_reset === true);
    await drive(account, "PATCH", phoneGroup, { member_add_mode: "all_member_add" });
    await hooks.next("member add mode", (e) => e.type === "group.updated" && e.data.changes.member_add_mode === "all_member_add");
    await drive(account, "PATCH", phoneGroup, { description: null });
    const cleared = await hooks.next("description removed", (e) => e.type === "group.updated" && "description" in e.data.changes && e.data.changes.description === null);
    expect(cleared.data.changes).toEqual({ description: null });

    await drive(account, "POST", `${phoneGroup}/participants/demote`, { participants: [me] });
    await hooks.next("participants demote", (e) => e.type === "group.participants" && e.data.action === "demote" && e.data.participants.includes(me));

    await drive(account, "POST", `${phoneGroup}/participants/remove`, { participants: [me] });
    const left = await hooks.next("group.left", (e) => e.type === "group.left");
    expect(left.data).toEqual({ session_id: session.id, group_id: gid, by: hana.phone_number, reason: "removed" });
    const removed = await hooks.next("participants remove", (e) => e.type === "group.participants" && e.data.action === "remove");
    expect(removed.data.participants).toEqual([me]);
    // No event names anyone by a LID: the sandbox's members all have numbers.
    for (const e of await hooks.all()) expect(JSON.stringify(e.data)).not.toMatch(/@lid/);
    // Many steps, each a round trip through the sandbox: longer than the default 30 s on a busy machine.
  }, 90_000);

  it("one group.joined when the session is added to an existing group, and one when it joins by link", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const me = session.phone_number as string;
    const hooks = await hookAll(account);
    const hana = await createPhone(account.key, { name: "Hana" });
    const ivo = await createPhone(account.key, { name: "Ivo" });

    const created = await drive(account, "POST", "/v1/sandbox/groups", { owner: hana.phone_number, subject: "Later", members: [ivo.phone_number] });
    const gid = created.group.jid as string;
    const phoneGroup = `/v1/sandbox/phones/${hana.phone_number}/groups/${gid}`;
    await drive(account, "POST", `${phoneGroup}/participants/add`, { participants: [me] });
    const joined = await hooks.next("group.joined", (e) => e.type === "group.joined");
    expect(joined.data).toMatchObject({ group_id: gid, by: hana.phone_number, name: "Later", owner: hana.phone_number, size: 3 });

    // A later change proves the add's notification was handled (the session emits in order): still one group.joined.
    await drive(account, "PATCH", phoneGroup, { subject: "Later still" });
    await hooks.next("group.updated", (e) => e.type === "group.updated" && e.data.changes.name === "Later still");
    expect((await hooks.emitted()).filter((e) => e.type === "group.joined")).toHaveLength(1);
    const add = await hooks.next("participants add", (e) => e.type === "group.participants" && e.data.group_id === gid);
    expect(add.data).toMatchObject({ action: "add", participants: [me], by: hana.phone_number });

    // The session joins another group by its invite link.
    const other = await drive(account, "POST", "/v1/sandbox/groups", { owner: ivo.phone_number, subject: "By link", members: [hana.phone_number] });
    const otherId = other.group.jid as string;
    const invite = await drive(account, "POST", `/v1/sandbox/phones/${ivo.phone_number}/groups/${otherId}/invite-link`, {});
    const join = await call("POST", `/v1/whatsapp/sessions/${session.id}/groups/join`, { key: account.key, body: { link: invite.invite.link } });
    expect(join.status, join.text).toBe(200);
    const byLink = await hooks.next("group.joined by link", (e) => e.type === "group.joined" && e.data.group_id === otherId);
    expect(byLink.data).toMatchObject({ name: "By link", by: me, owner: ivo.phone_number, size: 3 });
    // A later change of that group proves the join was all handled: one group.joined for it.
    await drive(account, "PATCH", `/v1/sandbox/phones/${ivo.phone_number}/groups/${otherId}`, { subject: "By link, renamed" });
    await hooks.next("group.updated by link", (e) => e.type === "group.updated" && e.data.group_id === otherId);
    expect((await hooks.emitted()).filter((e) => e.type === "group.joined" && e.data.group_id === otherId)).toHaveLength(1);
  });

  it("a group the session creates through the API, changes the photo of, then leaves", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const me = session.phone_number as string;
    const hooks = await hookAll(account);
    const hana = await createPhone(account.key, { name: "Hana" });

    const created = await call("POST", `/v1/whatsapp/sessions/${session.id}/groups`, { key: account.key, body: { name: "Ours", participants: [hana.phone_number] } });
    expect(created.status, created.text).toBe(201);
    const gid = created.json.group.id as string;
    const joined = await hooks.next("group.joined", (e) => e.type === "group.joined" && e.data.group_id === gid);
    expect(joined.data).toMatchObject({ by: me, owner: me, name: "Ours", size: 2 });

    // A new picture (through the group API), then none: the server's `picture` notification (not w:gp2).
    const photoSet = await call("PATCH", `/v1/whatsapp/sessions/${session.id}/groups/${gid}`, { key: account.key, body: { photo_url: `${inject("mediaServerUrl")}/jpeg` } });
    expect(photoSet.status, photoSet.text).toBe(200);
    const photo = await hooks.next("photo changed", (e) => e.type === "group.updated" && e.data.changes.photo === "changed");
    expect(photo.data).toMatchObject({ group_id: gid, by: me, changes: { photo: "changed" } });
    await runInDurableObject(sessionOf(session.id), async (instance) => {
      await (instance as unknown as { conn: { current: WASocket } }).conn.current.removeProfilePicture(gid);
    });
    await hooks.next("photo removed", (e) => e.type === "group.updated" && e.data.changes.photo === "removed");

    const left = await call("POST", `/v1/whatsapp/sessions/${session.id}/groups/${gid}/leave`, { key: account.key });
    expect(left.status, left.text).toBe(200);
    const event = await hooks.next("group.left", (e) => e.type === "group.left" && e.data.group_id === gid);
    expect(event.data).toEqual({ session_id: session.id, group_id: gid, by: me, reason: "left" });
  });

  it("changes made while the session was away all arrive once it is back, each once", async () => {
    const { account, session, hooks, gid, phoneGroup } = await sessionInGroup("Away");
    const ivo = await createPhone(account.key, { name: "Ivo" });
    await goOffline(account, session.id);
    // Three changes of one group (Baileys' buffer would keep only the first groups.update), and an add.
    await drive(account, "PATCH", phoneGroup, { subject: "Away 1" });
    await drive(account, "PATCH", phoneGroup, { subject: "Away 2" });
    await drive(account, "PATCH", phoneGroup, { announce: true });
    await drive(account, "POST", `${phoneGroup}/participants/add`, { participants: [ivo.phone_number] });

    const on = await call("PATCH", `/v1/whatsapp/sessions/${session.id}/reconnect`, { key: account.key });
    expect(on.status, on.text).toBe(200);
    await waitForSession(account.key, session.id, (s) => s.status === "connected");
    // A change made once the session is back comes after the offline ones: all are in by then.
    await drive(account, "PATCH", phoneGroup, { subject: "Back" });
    await hooks.next("the change after the return", (e) => e.type === "group.updated" && e.data.changes.name === "Back");
    const updates = (await hooks.emitted()).filter((e) => e.type === "group.updated" && e.data.group_id === gid).map((e) => e.data.changes);
    expect(updates).toHaveLength(4);
    expect(updates).toEqual(expect.arrayContaining([{ name: "Away 1" }, { name: "Away 2" }, { announce: true }, { name: "Back" }]));
    const adds = (await hooks.emitted()).filter((e) => e.type === "group.participants" && e.data.action === "add");
    expect(adds.map((e) => e.data.participants)).toEqual([[ivo.phone_number]]);
    // Each reached the receiver too.
    for (const name of ["Away 1", "Away 2"]) await hooks.next(name, (e) => e.type === "group.updated" && e.data.changes.name === name);
  });

  it("an event emitted again under its derived id is the same event, with no second delivery row", async () => {
    const account = await createAccount();
    const hooks = await hookAll(account);
    const input = {
      accountId: account.id,
      sessionId: null,
      type: "group.updated" as const,
      eventId: `grp_${crypto.randomUUID().replace(/-/g, "")}_updated`,
      data: { session_id: null, group_id: "120363000000000001@g.us", by: null, changes: { name: "Again" } },
    };
    const first = await emitEvent(env, input);
    const again = await emitEvent(env, input);
    expect(first.deliveryIds).toHaveLength(1);
    expect(again.deliveryIds).toEqual(first.deliveryIds);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE event_id = ?").bind(input.eventId).first<{ n: number }>();
    expect(rows?.n).toBe(1);
    const got = await hooks.next("the event", (e) => e.id === input.eventId);
    expect(got.data.changes).toEqual({ name: "Again" });
  });

  it("a notification the server sends again (its answer was lost) is the same event: one delivery, one webhook-id", async () => {
    const { account, session, hooks, phoneGroup } = await sessionInGroup("Twice");
    await goOffline(account, session.id);
    await drive(account, "PATCH", phoneGroup, { subject: "Said twice" });

    // The session handles the notification, but its answer never reaches the server...
    const before = await logins(account.id, session.id);
    await fault(account.key, session.id, { kind: "lose_acks", count: 1 });
    const on = await call("PATCH", `/v1/whatsapp/sessions/${session.id}/reconnect`, { key: account.key });
    expect(on.status, on.text).toBe(200);
    const first = await hooks.next("the change", (e) => e.type === "group.updated" && e.data.changes.name === "Said twice");
    await expect.poll(async () => (await sandboxEventsOf(account.id, session.id, "ack_lost")).length, poll).toBe(1);
    const [lost] = await sandboxEventsOf(account.id, session.id, "ack_lost");
    expect(lost.detail.tag).toBe("notification");
    // ...so the next login sends it again, and the session handles it again.
    await fault(account.key, session.id, { kind: "drop" });
    await expect.poll(() => logins(account.id, session.id), poll).toBeGreaterThanOrEqual(before + 2);
    const resent = async () => (await sandboxEventsOf(account.id, session.id, "offline_batch_sent")).some((e) => e.detail.redelivered >= 1 && e.detail.ids.includes(lost.detail.id));
    await expect.poll(resent, poll).toBe(true);
    await waitForSession(account.key, session.id, (s) => s.status === "connected");
    // A later change proves the redelivered one was handled before it.
    await drive(account, "PATCH", phoneGroup, { subject: "Said once more" });
    await hooks.next("the later change", (e) => e.type === "group.updated" && e.data.changes.name === "Said once more");
    const rows = (await hooks.emitted()).filter((e) => e.type === "group.updated" && e.data.changes.name === "Said twice");
    expect(rows.map((e) => e.id)).toEqual([first.id]);
    expect((await hooks.all()).filter((e) => e.id === first.id)).toHaveLength(1);
  }, 90_000);

  it("a group event D1 could not take stays journaled in the session object, and the flush task emits it once D1 is back", async () => {
    const { account, session, hooks, hana, gid } = await sessionInGroup("Kept");

    type Inside = { env: { DB: D1Database }; realDb?: D1Database };
    const inside = <T>(fn: (o: Inside, state: DurableObjectState) => T) => runInDurableObject(sessionOf(session.id), (o, state) => fn(o as unknown as Inside, state));
    const journaled = () => inside((_o, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM group_event_journal").one().n);
    // D1 fails the group journal's emits (an outage as the session object sees it); the binding is
    // shared by the whole worker, so the API and the sandbox keep theirs.
    await inside((o) => {
      const real = (o.realDb = o.env.DB);
      o.env.DB = new Proxy(real, {
        get: (target, name) => {
          const value = Reflect.get(target, name) as unknown;
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            if (new Error().stack?.includes("/src/session/group-journal")) throw new Error("D1 is down (test)");
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    });
    try {
      await drive(account, "PATCH", `/v1/sandbox/phones/${hana.phone_number}/groups/${gid}`, { subject: "Kept through an outage" });
      await expect.poll(journaled, poll).toBe(1);
      // The backstop is armed: the alarm's flush task runs the journal even if the object is evicted.
      expect(await inside((_o, state) => state.storage.sql.exec("SELECT 1 FROM schedule WHERE kind = 'flush'").toArray().length)).toBe(1);
    } finally {
      await inside((o) => (o.env.DB = o.realDb!));
    }
    await setDue(session.id, "flush");
    await runDurableObjectAlarm(sessionOf(session.id));
    await expect.poll(journaled, poll).toBe(0);
    const event = await hooks.next("the kept change", (e) => e.type === "group.updated" && e.data.changes.name === "Kept through an outage");
    expect(event.data).toMatchObject({ group_id: gid, by: hana.phone_number });
    expect((await hooks.emitted()).filter((e) => e.id === event.id)).toHaveLength(1);
  }, 60_000);
});
