import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";

// The sandbox driver's group routes over HTTP, through the Worker: every JSON answer is checked
// against the route's declared schema by `call`. Simulated phones change members and settings,
// share and reset links, join by link and answer join requests; refusals come back as clear 4xx.

const phones = ["15556660001", "15556660002", "15556660003", "15556660004", "15556660005"] as const;
const [olga, ben, cai, dora, eli] = phones;

async function world() {
  const account = await createAccount({ plan: "pro" });
  const key = account.key;
  for (const phone_number of phones) expect((await call("POST", "/v1/sandbox/phones", { key, body: { phone_number } })).status).toBe(201);
  const created = await call("POST", "/v1/sandbox/groups", { key, body: { owner: olga, subject: "Crew", members: [ben] } });
  expect(created.status, created.text).toBe(201);
  return { key, gid: created.json.group.jid as string };
}

const members = (res: { json: { group: { participants: { phone_number: string; admin: string | null }[] } } }) =>
  res.json.group.participants.map((p) => [p.phone_number, p.admin]);

describe("sandbox driver group routes", () => {
  it("a phone manages members and settings; the group reads back as the world sees it", async () => {
    const { key, gid } = await world();
    const path = (phone: string, rest = "") => `/v1/sandbox/phones/${phone}/groups/${gid}${rest}`;

    const read = await call("GET", `/v1/sandbox/groups/${gid}`, { key });
    expect(read.status, read.text).toBe(200);
    expect(read.json.group).toMatchObject({ jid: gid, subject: "Crew", owner: olga, description: null, announce: false, locked: false, join_approval: false, member_add_mode: "admin_add", invite_code: null, pending_requests: [], add_invites: [] });

    // Add: per participant, with WhatsApp's codes (404 not on WhatsApp, 409 already in).
    const add = await call("POST", path(olga, "/participants/add"), { key, body: { participants: [cai, "15559999999", ben] } });
    expect(add.status, add.text).toBe(200);
    expect(add.json.result).toEqual({
      group_jid: gid,
      action: "add",
      participants: [
        { phone_number: cai, status: 200, add_request: null },
        { phone_number: "15559999999", status: 404, add_request: null },
        { phone_number: ben, status: 409, add_request: null },
      ],
    });

    // A phone that refuses direct adds: 403 and the invite it gets instead.
    const privacy = await call("PATCH", `/v1/sandbox/phones/${dora}`, { key, body: { group_add_privacy: "none" } });
    expect(privacy.status, privacy.text).toBe(200);
    expect(privacy.json.phone).toMatchObject({ phone_number: dora, group_add_privacy: "none" });
    const refused = await call("POST", path(olga, "/participants/add"), { key, body: { participants: [dora] } });
    expect(refused.json.result.participants).toEqual([{ phone_number: dora, status: 403, add_request: { code: expect.any(String), expiration: expect.any(String) } }]);
    expect(Date.parse(refused.json.result.participants[0].add_request.expiration)).toBeGreaterThan(Date.now());
    // The world's view lists the invite the refusal left.
    expect((await call("GET", `/v1/sandbox/groups/${gid}`, { key })).json.group.add_invites).toEqual([
      { phone_number: dora, code: refused.json.result.participants[0].add_request.code, expiration: refused.json.result.participants[0].add_request.expiration, admin: olga },
    ]);

    const promote = await call("POST", path(olga, "/participants/promote"), { key, body: { participants: [ben] } });
    expect(promote.json.result.participants).toEqual([{ phone_number: ben, status: 200, add_request: null }]);
    const remove = await call("POST", path(ben, "/participants/remove"), { key, body: { participants: [cai] } });
    expect(remove.json.result.participants).toEqual([{ phone_number: cai, status: 200, add_request: null }]);
    const demote = await call("POST", path(olga, "/participants/demote"), { key, body: { participants: [ben] } });
    expect(demote.status, demote.text).toBe(200);
    expect(members(await call("GET", `/v1/sandbox/groups/${gid}`, { key }))).toEqual([[olga, "superadmin"], [ben, null]]);

    // Info and settings in one patch.
    const patched = await call("PATCH", path(olga), { key, body: { subject: "Crew 2", description: "Tuesdays", announce: true, locked: true, member_add_mode: "all_member_add" } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json.group).toMatchObject({ subject: "Crew 2", description: "Tuesdays", announce: true, locked: true, member_add_mode: "all_member_add" });

    // Refusals: a member who is not an admin 403 (locked: info too), a non-member 409; nothing changes.
    const notAdmin = await call("PATCH", path(ben), { key, body: { subject: "Mine now" } });
    expect([notAdmin.status, notAdmin.json.error.code]).toEqual([403, "not_group_admin"]);
    const notAdminSettings = await call("PATCH", path(ben), { key, body: { announce: false } });
    expect(notAdminSettings.status).toBe(403);
    const notAdminRemove = await call("POST", path(ben, "/participants/remove"), { key, body: { participants: [olga] } });
    expect(notAdminRemove.status, notAdminRemove.text).toBe(403);
    const outsider = await call("PATCH", path(cai), { key, body: { subject: "Hijack" } });
    expect([outsider.status, outsider.json.error.code]).toEqual([409, "sandbox_conflict"]);
    const unlocked = await call("PATCH", path(olga), { key, body: { locked: false, description: null } });
    expect(unlocked.json.group).toMatchObject({ subject: "Crew 2", locked: false, announce: true, description: null });
    // Unlocked: any member edits the info again.
    const memberEdit = await call("PATCH", path(ben), { key, body: { subject: "Crew 3" } });
    expect(memberEdit.json.group.subject).toBe("Crew 3");

    // The phone's inbox shows group messages with their group id.
    const sent = await call("POST", `/v1/sandbox/groups/${gid}/messages`, { key, body: { from: olga, type: "text", text: "admins only now" } });
    expect(sent.status, sent.text).toBe(201);
    const inbox = await call("GET", `/v1/sandbox/phones/${ben}/inbox`, { key });
    expect(inbox.json.messages.find((m: { id: string }) => m.id === sent.json.message.id)).toMatchObject({ group_jid: gid, chat: gid, from: olga, participant: olga, text: "admins only now" });
  });

  it("links, joining by link and join requests", async () => {
    const { key, gid } = await world();
    const path = (phone: string, rest = "") => `/v1/sandbox/phones/${phone}/groups/${gid}${rest}`;
    const join = (phone: string, link: string) => call("POST", `/v1/sandbox/phones/${phone}/group-join-requests`, { key, body: { link } });

    const link = await call("POST", path(olga, "/invite-link"), { key });
    expect(link.status, link.text).toBe(200);
    const { code } = link.json.invite;
    expect(link.json.invite).toEqual({ group_jid: gid, code: expect.stringMatching(/^[A-Za-z0-9]{22}$/), link: `https://chat.whatsapp.com/${code}` });
    expect((await call("POST", path(ben, "/invite-link"), { key })).status).toBe(403);

    const joined = await join(cai, link.json.invite.link);
    expect([joined.status, joined.json.result]).toEqual([200, { status: "joined", group_jid: gid }]);
    expect((await join(cai, link.json.invite.link)).status).toBe(409);

    // Approval on: requests wait, admins answer them.
    await call("PATCH", path(olga), { key, body: { join_approval: true } });
    expect((await join(dora, link.json.invite.link)).json.result).toEqual({ status: "pending", group_jid: gid });
    expect((await join(eli, link.json.invite.link)).json.result.status).toBe("pending");
    const waiting = await call("GET", `/v1/sandbox/groups/${gid}`, { key });
    expect(waiting.json.group.pending_requests.map((r: { phone_number: string; method: string }) => [r.phone_number, r.method])).toEqual([[dora, "invite_link"], [eli, "invite_link"]]);
    expect((await call("POST", path(ben, "/requests/approve"), { key, body: { participants: [dora] } })).status).toBe(403);
    const approved = await call("POST", path(olga, "/requests/approve"), { key, body: { participants: [dora, dora, ben, "15559999999"] } });
    // Each phone once; a member has no request (409), a stranger none either (404).
    expect(approved.json.result).toEqual({ group_jid: gid, action: "approve", participants: [
      { phone_number: dora, status: 200, add_request: null }, { phone_number: ben, status: 409, add_request: null }, { phone_number: "15559999999", status: 404, add_request: null },
    ] });
    const rejected = await call("POST", path(olga, "/requests/reject"), { key, body: { participants: [eli] } });
    expect(rejected.json.result.participants).toEqual([{ phone_number: eli, status: 200, add_request: null }]);
    const after = await call("GET", `/v1/sandbox/groups/${gid}`, { key });
    expect(after.json.group.pending_requests).toEqual([]);
    expect(after.json.group.participants.map((p: { phone_number: string }) => p.phone_number)).toEqual([olga, ben, cai, dora]);

    // A requester who gets in another way has no request left: added directly (then promoted,
    // approving it changes nothing: 409), or joining by link once approval is off.
    expect((await join(eli, link.json.invite.link)).json.result.status).toBe("pending");
    await call("POST", path(olga, "/participants/add"), { key, body: { participants: [eli] } });
    await call("POST", path(olga, "/participants/promote"), { key, body: { participants: [eli] } });
    expect((await call("GET", `/v1/sandbox/groups/${gid}`, { key })).json.group.pending_requests).toEqual([]);
    const late = await call("POST", path(olga, "/requests/approve"), { key, body: { participants: [eli] } });
    expect(late.json.result.participants).toEqual([{ phone_number: eli, status: 409, add_request: null }]);
    const fay = "15556660006";
    expect((await call("POST", "/v1/sandbox/phones", { key, body: { phone_number: fay } })).status).toBe(201);
    expect((await join(fay, link.json.invite.link)).json.result.status).toBe("pending");
    await call("PATCH", path(olga), { key, body: { join_approval: false } });
    expect((await join(fay, link.json.invite.link)).json.result.status).toBe("joined");
    const open = await call("GET", `/v1/sandbox/groups/${gid}`, { key });
    expect(open.json.group.pending_requests).toEqual([]);
    expect(open.json.group.participants.map((p: { phone_number: string; admin: string | null }) => [p.phone_number, p.admin])).toEqual([
      [olga, "superadmin"], [ben, null], [cai, null], [dora, null], [eli, "admin"], [fay, null],
    ]);

    // Reset: the old link is dead (410), a link no group has is 404, a malformed one 422.
    await call("POST", path(olga, "/participants/remove"), { key, body: { participants: [eli] } });
    const reset = await call("POST", path(olga, "/invite-link"), { key, body: { reset: true } });
    expect(reset.json.invite.code).not.toBe(code);
    const old = await join(eli, link.json.invite.link);
    expect([old.status, old.json.error.code]).toEqual([410, "gone"]);
    expect((await join(eli, "https://chat.whatsapp.com/AAAAAAAAAAAAAAAAAAAAAA")).status).toBe(404);
    const bad = await join(eli, "https://example.com/abc");
    expect(bad.status).toBe(422);
    expect(bad.json.error.details[0]).toMatchObject({ field: "link", in: "body" });
  });

  it("refuses bad input with 422, unknown phones and groups with 404, and another account sees nothing", async () => {
    const { key, gid } = await world();
    const empty = await call("POST", `/v1/sandbox/phones/${olga}/groups/${gid}/participants/add`, { key, body: { participants: [] } });
    expect([empty.status, empty.json.error.details[0]?.field]).toEqual([422, "participants"]);
    const action = await call("POST", `/v1/sandbox/phones/${olga}/groups/${gid}/participants/kick`, { key, body: { participants: [ben] } });
    expect([action.status, action.json.error.details[0]?.field]).toEqual([422, "action"]);
    for (const bad of ["__proto__", "12345", "abc@g.us", "120363000000000000@s.whatsapp.net"]) {
      const res = await call("GET", `/v1/sandbox/groups/${encodeURIComponent(bad)}`, { key });
      expect(res.status, `${bad}: ${res.text}`).toBe(422);
      expect(res.json.error.details[0]).toMatchObject({ field: "group_jid", in: "path" });
    }
    // Creating with a number that is not on WhatsApp refuses the whole call; a refused add is an invite.
    const unknownMember = await call("POST", "/v1/sandbox/groups", { key, body: { owner: olga, subject: "Nope", members: [ben, "15559999999"] } });
    expect(unknownMember.status, unknownMember.text).toBe(404);
    await call("PATCH", `/v1/sandbox/phones/${dora}`, { key, body: { group_add_privacy: "none" } });
    const withInvite = await call("POST", "/v1/sandbox/groups", { key, body: { owner: olga, subject: "Invites", members: [ben, dora] } });
    expect(withInvite.status, withInvite.text).toBe(201);
    expect(members(withInvite)).toEqual([[olga, "superadmin"], [ben, null]]);
    expect(withInvite.json.group.add_invites.map((i: { phone_number: string; admin: string }) => [i.phone_number, i.admin])).toEqual([[dora, olga]]);
    const nothing = await call("PATCH", `/v1/sandbox/phones/${olga}/groups/${gid}`, { key, body: {} });
    expect(nothing.status).toBe(422);
    const proto = await call("PATCH", `/v1/sandbox/phones/${olga}/groups/${gid}`, { key, rawBody: `{"subject":"x","__proto__":{"locked":true}}`, headers: { "Content-Type": "application/json" } });
    expect(proto.status, proto.text).toBe(422);
    expect(proto.json.error.details).toEqual([expect.objectContaining({ code: "forbidden_key" })]);
    const privacy = await call("PATCH", `/v1/sandbox/phones/${olga}`, { key, body: { group_add_privacy: "friends" } });
    expect(privacy.status).toBe(422);
    expect((await call("GET", "/v1/sandbox/groups/120363000000000000@g.us", { key })).status).toBe(404);
    expect((await call("PATCH", `/v1/sandbox/phones/15550000000/groups/${gid}`, { key, body: { subject: "x" } })).status).toBe(404);
    expect((await call("POST", `/v1/sandbox/phones/${olga}/groups/120363000000000000@g.us/invite-link`, { key })).status).toBe(404);
    // Nothing of that stuck.
    expect((await call("GET", `/v1/sandbox/groups/${gid}`, { key })).json.group).toMatchObject({ subject: "Crew", locked: false });

    // Another account's sandbox is another world: no such group or phone there.
    const other = await createAccount({ plan: "pro" });
    expect((await call("GET", `/v1/sandbox/groups/${gid}`, { key: other.key })).status).toBe(404);
    expect((await call("POST", `/v1/sandbox/phones/${olga}/groups/${gid}/participants/add`, { key: other.key, body: { participants: [ben] } })).status).toBe(404);
    expect((await call("POST", `/v1/sandbox/phones/${olga}/groups/${gid}/invite-link`, { key: other.key })).status).toBe(404);
  });
});
