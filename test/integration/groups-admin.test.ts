import { beforeAll, describe, expect, inject, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession } from "../helpers/messages";
import { runInDurableObject } from "cloudflare:test";
import { poll, sandboxOf } from "../helpers/sandbox-client";
import { createPhone } from "../helpers/sessions";

// Group administration through the API: the session's Baileys client sends each w:g2 iq to the
// sandbox, and the sandbox's own view of the group (GET /v1/sandbox/groups/{jid}) shows the effect.

let account: TestAccount;
let gus: { id: string; phone_number: string };
let hana: string;
let ivo: string;
let pia: string;

beforeAll(async () => {
  account = await createAccount({ plan: "pro" });
  gus = await connectedSession(account.key);
  hana = (await createPhone(account.key, { name: "Hana" })).phone_number;
  ivo = (await createPhone(account.key, { name: "Ivo" })).phone_number;
  pia = (await createPhone(account.key, { name: "Pia" })).phone_number;
  // Pia lets nobody add her directly.
  const privacy = await call("PATCH", `/v1/sandbox/phones/${pia}`, { key: account.key, body: { group_add_privacy: "none" } });
  if (privacy.status !== 200) throw new Error(`privacy: ${privacy.status} ${privacy.text}`);
}, 90_000);

const groups = (s: { id: string }) => `/v1/whatsapp/sessions/${s.id}/groups`;
const groupPath = (s: { id: string }, jid: string) => `${groups(s)}/${encodeURIComponent(jid)}`;
const world = async (jid: string) => {
  const res = await call("GET", `/v1/sandbox/groups/${encodeURIComponent(jid)}`, { key: account.key });
  expect(res.status, res.text).toBe(200);
  return res.json.group;
};
const members = (g: any) => g.participants.map((p: any) => [p.phone_number, p.admin]);
const LID = expect.stringMatching(/^\d+@lid$/);
const media = (path: string) => `${inject("mediaServerUrl")}${path}`;

async function createGroup(name: string, participants: string[], extra: Record<string, unknown> = {}) {
  const res = await call("POST", groups(gus), { key: account.key, body: { name, participants, ...extra } });
  expect(res.status, res.text).toBe(201);
  return res.json as { group: any; participants: any[]; description_set: boolean | null };
}

describe("creating a group", () => {
  it("adds who it can, invites a contact whose privacy refuses adds, and names numbers not on WhatsApp", async () => {
    const nobody = "14155550199";
    const created = await createGroup("Launch", [hana, `+${ivo}`, pia, `+${nobody}`, hana], { description: "Plans for the launch" });
    const { group, participants } = created;
    expect(group).toMatchObject({ name: "Launch", description: "Plans for the launch", owner: gus.phone_number, owner_lid: LID, size: 3, role: "superadmin", announce: false, locked: false, join_approval: false });
    expect(group.id).toMatch(/^\d+@g\.us$/);
    expect(group.participants.map((p: any) => [p.phone_number, p.role])).toEqual([[gus.phone_number, "superadmin"], [hana, "member"], [ivo, "member"]]);
    // Each number once, normalized.
    expect(participants).toEqual([
      { phone_number: hana, lid: LID, status: "added", whatsapp_code: null },
      { phone_number: ivo, lid: LID, status: "added", whatsapp_code: null },
      // Not a member, and WhatsApp's refusal names her by number only.
      { phone_number: pia, lid: null, status: "invited", whatsapp_code: 403 },
      { phone_number: nobody, lid: null, status: "not_on_whatsapp", whatsapp_code: null },
    ]);
    expect(created.description_set).toBe(true);
    const seen = await world(group.id);
    expect(members(seen)).toEqual([[gus.phone_number, "superadmin"], [hana, null], [ivo, null]]);
    expect(seen.description).toBe("Plans for the launch");
    // Pia got the group invite message from the session.
    await expect
      .poll(async () => (await call("GET", `/v1/sandbox/phones/${pia}/inbox`, { key: account.key })).json.messages.find((m: any) => m.type === "groupInvite")?.from, poll)
      .toBe(gus.phone_number);

    const list = await call("GET", groups(gus), { key: account.key });
    expect(list.json.groups.find((g: any) => g.id === group.id)).toMatchObject({ name: "Launch", role: "superadmin", size: 3 });
  });

  it("creates nothing when no participant is on WhatsApp", async () => {
    const before = (await call("GET", groups(gus), { key: account.key })).json.groups.length;
    const res = await call("POST", groups(gus), { key: account.key, body: { name: "Nobody", participants: ["+14155550198"] } });
    expect(res.status, res.text).toBe(422);
    expect(res.json.error.code).toBe("participants_not_on_whatsapp");
    expect((await call("GET", groups(gus), { key: account.key })).json.groups).toHaveLength(before);
  });
});

describe("changing a group", () => {
  it("renames, describes and sets announce, locked and join approval; the server holds each change", async () => {
    const { group } = await createGroup("Before", [hana]);
    const res = await call("PATCH", groupPath(gus, group.id), {
      key: account.key,
      body: { name: "After", description: "New rules", announce: true, locked: true, join_approval: true },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.group).toMatchObject({ id: group.id, name: "After", description: "New rules", announce: true, locked: true, join_approval: true, role: "superadmin" });
    expect(await world(group.id)).toMatchObject({ subject: "After", description: "New rules", announce: true, locked: true, join_approval: true });

    const cleared = await call("PATCH", groupPath(gus, group.id), { key: account.key, body: { description: null, announce: false } });
    expect(cleared.status, cleared.text).toBe(200);
    expect(cleared.json.group).toMatchObject({ description: null, announce: false, locked: true });
    expect(await world(group.id)).toMatchObject({ description: null, announce: false });
  });

  it("refuses a photo_url that is not a reachable JPEG before changing anything", async () => {
    const { group } = await createGroup("Photo", [hana]);
    const png = await call("PATCH", groupPath(gus, group.id), { key: account.key, body: { name: "Renamed", photo_url: media("/png") } });
    expect(png.status, png.text).toBe(422);
    expect(png.json.error.code).toBe("unsupported_media_type");
    const missing = await call("PATCH", groupPath(gus, group.id), { key: account.key, body: { name: "Renamed", photo_url: media("/missing") } });
    expect(missing.status, missing.text).toBe(422);
    expect(missing.json.error.code).toBe("media_unreachable");
    expect(await world(group.id)).toMatchObject({ subject: "Photo" });
  });

  it("sets the group's picture from photo_url: the server stores the JPEG as fetched", async () => {
    const { group } = await createGroup("Pictured", [hana]);
    const res = await call("PATCH", groupPath(gus, group.id), { key: account.key, body: { photo_url: media("/jpeg") } });
    expect(res.status, res.text).toBe(200);
    const jpeg = new Uint8Array(await (await fetch(media("/jpeg"))).arrayBuffer());
    const stored = await runInDurableObject(sandboxOf(account.id), (_, state) =>
      state.storage.sql.exec<{ data: ArrayBuffer }>("SELECT data FROM group_pictures WHERE group_jid = ?", group.id).one().data,
    );
    expect([...new Uint8Array(stored)]).toEqual([...jpeg]);
  });

  it("names the fields already changed when a later one is refused", async () => {
    const { group } = await createGroup("Partly", [hana]);
    // The sandbox takes pictures up to 1 MB (docs/protocol/groups.md) and answers a bigger one 406,
    // after the name (sent first) is already changed.
    const res = await call("PATCH", groupPath(gus, group.id), {
      key: account.key,
      body: { name: "Partly renamed", photo_url: media(`/jpeg?pad=${1024 * 1024}`), announce: true },
    });
    expect(res.status, res.text).toBe(502);
    expect(res.json.error).toMatchObject({ code: "whatsapp_error", details: { whatsapp_code: 406, applied: ["name"] } });
    expect(await world(group.id)).toMatchObject({ subject: "Partly renamed", announce: false });
  });

  it("adds, promotes, demotes and removes participants, with a result for each", async () => {
    const { group } = await createGroup("Members", [hana]);
    const path = (action: string) => `${groupPath(gus, group.id)}/participants/${action}`;
    const add = await call("POST", path("add"), { key: account.key, body: { participants: [ivo, hana, pia] } });
    expect(add.status, add.text).toBe(200);
    expect(add.json.participants).toEqual([
      { phone_number: ivo, lid: LID, status: "added", whatsapp_code: null },
      { phone_number: hana, lid: LID, status: "already_member", whatsapp_code: 409 },
      // Not a member, and WhatsApp's refusal names her by number only.
      { phone_number: pia, lid: null, status: "invited", whatsapp_code: 403 },
    ]);

    const promote = await call("POST", path("promote"), { key: account.key, body: { participants: [hana] } });
    expect(promote.json.participants).toEqual([{ phone_number: hana, lid: LID, status: "promoted", whatsapp_code: null }]);
    expect(members(await world(group.id))).toContainEqual([hana, "admin"]);
    const detail = await call("GET", groupPath(gus, group.id), { key: account.key });
    const hanaLid = detail.json.group.participants.find((p: any) => p.phone_number === hana)?.lid;
    expect(detail.json.group.participants).toContainEqual({ phone_number: hana, lid: LID, role: "admin" });

    // A member may be named by its LID too; the result carries both forms.
    const demote = await call("POST", path("demote"), { key: account.key, body: { participants: [hanaLid] } });
    expect(demote.status, demote.text).toBe(200);
    expect(demote.json.participants).toEqual([{ phone_number: hana, lid: hanaLid, status: "demoted", whatsapp_code: null }]);
    expect(members(await world(group.id))).toContainEqual([hana, null]);

    const remove = await call("POST", path("remove"), { key: account.key, body: { participants: [ivo] } });
    expect(remove.json.participants).toEqual([{ phone_number: ivo, lid: LID, status: "removed", whatsapp_code: null }]);
    const again = await call("POST", path("remove"), { key: account.key, body: { participants: [ivo] } });
    expect(again.json.participants).toEqual([{ phone_number: ivo, lid: null, status: "not_member", whatsapp_code: 404 }]);
    expect(members(await world(group.id))).toEqual([[gus.phone_number, "superadmin"], [hana, null]]);
  });
});

/** A group Hana made with gus as a plain member (and Ivo). */
async function hanasGroup(subject: string): Promise<string> {
  const res = await call("POST", "/v1/sandbox/groups", { key: account.key, body: { owner: hana, subject, members: [gus.phone_number, ivo] } });
  expect(res.status, res.text).toBe(201);
  return res.json.group.jid;
}

describe("another's group", () => {
  it("answers 403 not_group_admin when a plain member removes or promotes, changing nothing", async () => {
    const jid = await hanasGroup("Hana's");
    for (const action of ["remove", "promote"]) {
      const res = await call("POST", `${groupPath(gus, jid)}/participants/${action}`, { key: account.key, body: { participants: [ivo] } });
      expect(res.status, `${action}: ${res.text}`).toBe(403);
      expect(res.json.error.code).toBe("not_group_admin");
    }
    expect(members(await world(jid))).toEqual([[hana, "superadmin"], [gus.phone_number, null], [ivo, null]]);
  });

  it("refuses DELETE with 409 cannot_remove_creator when an admin cannot remove the creator, removing nobody", async () => {
    const jid = await hanasGroup("Hana's, gus admin");
    const promoted = await call("POST", `/v1/sandbox/phones/${hana}/groups/${encodeURIComponent(jid)}/participants/promote`, {
      key: account.key,
      body: { participants: [gus.phone_number] },
    });
    expect(promoted.status, promoted.text).toBe(200);
    const res = await call("DELETE", groupPath(gus, jid), { key: account.key });
    expect(res.status, res.text).toBe(409);
    expect(res.json.error.code).toBe("cannot_remove_creator");
    expect(members(await world(jid))).toEqual([[hana, "superadmin"], [gus.phone_number, "admin"], [ivo, null]]);
  });
});
