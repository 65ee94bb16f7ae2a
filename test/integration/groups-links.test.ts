import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession } from "../helpers/messages";
import { createPhone } from "../helpers/sessions";

// Invite links, joining, join requests, leaving and "deleting" through the API, with two linked
// sessions of one account (gus, an admin; kai, who joins) against the sandbox's w:g2 answers.
// Each case makes its own group.

let account: TestAccount;
let gus: { id: string; phone_number: string };
let kai: { id: string; phone_number: string };
let hana: string;
let ivo: string;
let pia: string;

beforeAll(async () => {
  account = await createAccount({ plan: "pro" });
  gus = await connectedSession(account.key);
  kai = await connectedSession(account.key);
  hana = (await createPhone(account.key, { name: "Hana" })).phone_number;
  ivo = (await createPhone(account.key, { name: "Ivo" })).phone_number;
  pia = (await createPhone(account.key, { name: "Pia" })).phone_number;
}, 90_000);

const base = (s: { id: string }) => `/v1/whatsapp/sessions/${s.id}/groups`;
const at = (s: { id: string }, group: string, suffix = "") => `${base(s)}/${encodeURIComponent(group)}${suffix}`;
const world = async (group: string) => (await call("GET", `/v1/sandbox/groups/${encodeURIComponent(group)}`, { key: account.key })).json.group;
const phonesIn = async (group: string) => (await world(group)).participants.map((p: any) => p.phone_number);
const info = (s: { id: string }, link: string) => call("GET", `${base(s)}/invite-info?link=${encodeURIComponent(link)}`, { key: account.key });
const join = (s: { id: string }, link: string) => call("POST", `${base(s)}/join`, { key: account.key, body: { link } });

/** A group gus makes (an admin), with these members. */
async function gusGroup(name: string, participants = [hana]): Promise<string> {
  const res = await call("POST", base(gus), { key: account.key, body: { name, participants } });
  expect(res.status, res.text).toBe(201);
  return res.json.group.id;
}

async function linkOf(group: string): Promise<string> {
  const res = await call("GET", at(gus, group, "/invite-link"), { key: account.key });
  expect(res.status, res.text).toBe(200);
  return res.json.invite_link;
}

/** A group gus made, which kai joined by link. */
async function joinedByKai(name: string): Promise<string> {
  const group = await gusGroup(name);
  const joined = await join(kai, await linkOf(group));
  expect(joined.status, joined.text).toBe(200);
  return group;
}

describe("invite links", () => {
  it("answers the group's link, the same on every read, until a reset revokes it for a new one", async () => {
    const group = await gusGroup("Links");
    const first = await linkOf(group);
    expect(first).toMatch(/^https:\/\/chat\.whatsapp\.com\/[A-Za-z0-9]+$/);
    expect(first).toBe(`https://chat.whatsapp.com/${(await world(group)).invite_code}`);
    expect(await linkOf(group)).toBe(first);

    const reset = await call("POST", at(gus, group, "/invite-link/reset"), { key: account.key });
    expect(reset.status, reset.text).toBe(200);
    expect(reset.json.invite_link).not.toBe(first);
    expect(reset.json.invite_link).toBe(`https://chat.whatsapp.com/${(await world(group)).invite_code}`);
    // The GET form the issue asks for does the same.
    const again = await call("GET", at(gus, group, "/invite-link?reset=true"), { key: account.key });
    expect(again.status, again.text).toBe(200);
    expect(again.json.invite_link).not.toBe(reset.json.invite_link);
    expect(again.json.invite_link).toBe(`https://chat.whatsapp.com/${(await world(group)).invite_code}`);

    const revoked = await info(kai, reset.json.invite_link);
    expect(revoked.status, revoked.text).toBe(410);
    expect(revoked.json.error).toMatchObject({ code: "invite_link_revoked", details: { whatsapp_code: 410 } });
  });

  it("previews the group behind a link without joining (the code alone works too)", async () => {
    const group = await gusGroup("Preview");
    const res = await info(kai, (await linkOf(group)).replace("https://chat.whatsapp.com/", ""));
    expect(res.status, res.text).toBe(200);
    expect(res.json.group).toMatchObject({ id: group, name: "Preview", owner: gus.phone_number, size: 2, role: null });
    expect(res.json.group.participants.map((p: any) => p.phone_number)).toEqual([gus.phone_number, hana]);
    expect(await phonesIn(group)).not.toContain(kai.phone_number);
  });

  it("answers 404 invite_link_invalid to a preview or a join with a link never issued, and 410 to a join with a revoked one", async () => {
    const never = "https://chat.whatsapp.com/NeverIssued0000";
    for (const res of [await info(kai, never), await join(kai, never)]) {
      expect(res.status, res.text).toBe(404);
      expect(res.json.error.code).toBe("invite_link_invalid");
    }
    const group = await gusGroup("Revoked");
    const old = await linkOf(group);
    expect((await call("POST", at(gus, group, "/invite-link/reset"), { key: account.key })).status).toBe(200);
    const revoked = await join(kai, old);
    expect(revoked.status, revoked.text).toBe(410);
    expect(revoked.json.error.code).toBe("invite_link_revoked");
    expect(await phonesIn(group)).not.toContain(kai.phone_number);
  });
});

describe("joining", () => {
  it("joins by link; joining again is 409 already_group_member", async () => {
    const group = await gusGroup("Join");
    const link = await linkOf(group);
    const joined = await join(kai, link);
    expect(joined.status, joined.text).toBe(200);
    expect(joined.json).toEqual({ success: true, group_id: group, status: "joined" });
    expect(await phonesIn(group)).toContain(kai.phone_number);
    const again = await join(kai, link);
    expect(again.status, again.text).toBe(409);
    expect(again.json.error.code).toBe("already_group_member");
  });

  it("a member who is not an admin gets 403 not_group_admin for the link, its reset, adding and the join requests", async () => {
    const group = await joinedByKai("Not admin");
    const code = (await world(group)).invite_code;
    const refusals: [string, string, unknown?][] = [
      ["GET", at(kai, group, "/invite-link")],
      ["POST", at(kai, group, "/invite-link/reset")],
      ["POST", at(kai, group, "/participants/add"), { participants: [ivo] }],
      ["GET", at(kai, group, "/requests")],
    ];
    for (const [method, path, body] of refusals) {
      const res = await call(method, path, { key: account.key, body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(403);
      expect(res.json.error.code).toBe("not_group_admin");
    }
    expect(await phonesIn(group)).not.toContain(ivo);
    expect((await world(group)).invite_code).toBe(code);
  });

  it("any member edits the info of an unlocked group; once locked, only admins (403 not_group_admin)", async () => {
    const group = await joinedByKai("Open");
    const rename = await call("PATCH", at(kai, group), { key: account.key, body: { name: "Open (kai)" } });
    expect(rename.status, rename.text).toBe(200);
    expect(rename.json.group).toMatchObject({ name: "Open (kai)", role: "member" });
    expect((await call("PATCH", at(gus, group), { key: account.key, body: { locked: true } })).status).toBe(200);
    const locked = await call("PATCH", at(kai, group), { key: account.key, body: { name: "Mine" } });
    expect(locked.status, locked.text).toBe(403);
    expect(locked.json.error.code).toBe("not_group_admin");
    expect((await world(group)).subject).toBe("Open (kai)");
  });
});

describe("join requests", () => {
  /** A group gus made that approves who joins, and its link. */
  async function approvingGroup(name: string): Promise<{ group: string; link: string }> {
    const group = await gusGroup(name);
    expect((await call("PATCH", at(gus, group), { key: account.key, body: { join_approval: true } })).status).toBe(200);
    return { group, link: await linkOf(group) };
  }

  it("lists requests to join, approves one and rejects another; one with no request fails (404), a member too (409)", async () => {
    const { group, link } = await approvingGroup("Approvals");
    for (const p of [ivo, pia]) {
      const asked = await call("POST", `/v1/sandbox/phones/${p}/group-join-requests`, { key: account.key, body: { link } });
      expect(asked.status, asked.text).toBe(200);
      expect(asked.json.result.status).toBe("pending");
    }
    const list = await call("GET", at(gus, group, "/requests"), { key: account.key });
    expect(list.status, list.text).toBe(200);
    expect(list.json.requests).toEqual([
      { phone_number: ivo, lid: null, requested_at: expect.stringMatching(/^\d{4}-/) },
      { phone_number: pia, lid: null, requested_at: expect.stringMatching(/^\d{4}-/) },
    ]);

    const approve = await call("POST", at(gus, group, "/requests/approve"), { key: account.key, body: { participants: [ivo, kai.phone_number, hana] } });
    expect(approve.status, approve.text).toBe(200);
    expect(approve.json.participants).toEqual([
      { phone_number: ivo, lid: null, status: "approved", whatsapp_code: null },
      { phone_number: kai.phone_number, lid: null, status: "failed", whatsapp_code: 404 },
      { phone_number: hana, lid: null, status: "failed", whatsapp_code: 409 },
    ]);
    const reject = await call("POST", at(gus, group, "/requests/reject"), { key: account.key, body: { participants: [pia] } });
    expect(reject.json.participants).toEqual([{ phone_number: pia, lid: null, status: "rejected", whatsapp_code: null }]);

    expect((await call("GET", at(gus, group, "/requests"), { key: account.key })).json.requests).toEqual([]);
    const inGroup = await phonesIn(group);
    expect(inGroup).toContain(ivo);
    expect(inGroup).not.toContain(pia);
  });

  it("joining a group that approves members answers `requested`; the admins see the request", async () => {
    const { group, link } = await approvingGroup("Asked");
    const asked = await join(kai, link);
    expect(asked.status, asked.text).toBe(200);
    expect(asked.json).toEqual({ success: true, group_id: group, status: "requested" });
    expect(await phonesIn(group)).not.toContain(kai.phone_number);
    const requests = await call("GET", at(gus, group, "/requests"), { key: account.key });
    expect(requests.json.requests.map((r: any) => r.phone_number)).toEqual([kai.phone_number]);
  });
});

describe("leaving and deleting", () => {
  it("leaves; the group is then not found for that session and gone from its list", async () => {
    const group = await joinedByKai("Leave");
    const left = await call("POST", at(kai, group, "/leave"), { key: account.key });
    expect(left.status, left.text).toBe(200);
    expect(await phonesIn(group)).not.toContain(kai.phone_number);
    const gone = await call("GET", at(kai, group), { key: account.key });
    expect(gone.status, gone.text).toBe(404);
    expect(gone.json.error.code).toBe("group_not_found");
    const list = await call("GET", base(kai), { key: account.key });
    expect(list.json.groups.map((g: any) => g.id)).not.toContain(group);
  });

  it("DELETE removes every other participant, then leaves; the emptied group is gone", async () => {
    const group = await gusGroup("Delete", [hana, ivo]);
    const res = await call("DELETE", at(gus, group), { key: account.key });
    expect(res.status, res.text).toBe(200);
    const LID = expect.stringMatching(/^\d+@lid$/);
    expect(res.json).toEqual({
      success: true,
      left: true,
      participants: [
        { phone_number: hana, lid: LID, status: "removed", whatsapp_code: null },
        { phone_number: ivo, lid: LID, status: "removed", whatsapp_code: null },
      ],
    });
    // The last member gone, the group is gone from the server too.
    const server = await call("GET", `/v1/sandbox/groups/${encodeURIComponent(group)}`, { key: account.key });
    expect(server.status, server.text).toBe(404);
    const gone = await call("GET", at(gus, group), { key: account.key });
    expect(gone.status, gone.text).toBe(404);
    expect(gone.json.error.code).toBe("group_not_found");
  });
});
