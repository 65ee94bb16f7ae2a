import { Buffer } from "node:buffer";
import { random } from "./crypto";
import { type GroupMember, type GroupPatch, type GroupRow, groupNode, newGroupJid } from "./groups";
import { notifyGroup, notifyGroupPicture } from "./groups.notify";
import { setGroupAddressing } from "./lids";
import type { ServerCore } from "./server.core";
import { type BinaryNode, lidJid, node, pnJid, unixNow } from "./stanzas";
import type { PhoneRow } from "./world.store";

// What a group's members and admins do to it, for any caller (the w:g2 iq handlers for the linked
// account, the driver for simulated phones): each changes the store, then tells the members'
// devices with a w:gp2 notification. Shapes and codes: docs/protocol/groups.md.

/** A refusal the iq handler sends as `<error code text>` (whatsmeow errors.go names the codes). */
export class GroupOpError extends Error {
  constructor(readonly code: number, readonly text: string) {
    super(`${code} ${text}`);
    this.name = "GroupOpError";
  }
}

export type ParticipantAction = "add" | "remove" | "promote" | "demote";
export type GroupSetting = "announcement" | "not_announcement" | "locked" | "unlocked";
export type MemberAddMode = "admin_add" | "all_member_add";
export interface AddRequest { code: string; expiration: number }
export interface ParticipantResult { phone: string; status: number; addRequest?: AddRequest }

/** WhatsApp's current limits (its clients cap input at these); longer is refused with 406. */
export const SUBJECT_MAX = 100;
export const DESCRIPTION_MAX = 2048;
/** WhatsApp's member limit (its FAQ: "up to 1024"); an add past it is refused with 419. */
export const GROUP_MAX = 1024;
/** A refused add's invite lasts 3 days (an observed add_request expiration: waha issue #2002). */
const ADD_INVITE_TTL_S = 3 * 24 * 3600;

const notFound = () => new GroupOpError(404, "item-not-found");
const forbidden = () => new GroupOpError(403, "forbidden");
const notAuthorized = () => new GroupOpError(401, "not-authorized");
const badRequest = () => new GroupOpError(400, "bad-request");
const notAcceptable = () => new GroupOpError(406, "not-acceptable");

/** The group, its members and the actor's membership: 404 no such group, 403 not a member. */
export function memberOf(core: ServerCore, actor: string, jid: string) {
  const group = core.groups.group(String(jid ?? ""));
  if (!group) throw notFound();
  const members = core.groups.members(group.jid);
  const me = members.find((m) => m.phone === actor);
  if (!me) throw forbidden();
  return { group, members, me };
}

/** As memberOf, and the actor must be an admin: 401 not-authorized (whatsmeow ErrGroupInviteLinkUnauthorized). */
export function adminOf(core: ServerCore, actor: string, jid: string) {
  const found = memberOf(core, actor, jid);
  if (!found.me.admin) throw notAuthorized();
  return found;
}

/** A participant as notifications and results name it: its phone jid, with its LID when known. */
export function participantNode(core: ServerCore, phone: string, attrs: Record<string, string | undefined> = {}, content?: BinaryNode[]): BinaryNode {
  const row = core.phoneRow(phone);
  return node("participant", { jid: pnJid(phone), lid: row ? lidJid(row.lid) : undefined, ...attrs }, content);
}

export const phonesOf = (members: GroupMember[]) => members.map((m) => m.phone);

/** Whether the group has reached WhatsApp's member limit (then any join is refused with 419). */
export const isFull = (core: ServerCore, jid: string): boolean => core.groups.members(jid).length >= GROUP_MAX;

/**
 * Whether `phone`'s "who can add me to groups" lets `actor` add it: 'all' yes, 'none' no,
 * 'contacts' only someone it has chatted with (the sandbox has no address book).
 */
function addAllowed(core: ServerCore, phone: string, actor: string): boolean {
  const setting = core.groups.addPrivacy(phone);
  if (setting === "all") return true;
  if (setting === "none") return false;
  return core.groups.haveChatted(phone, actor);
}

/** A member is stored; whatever it waited on to get in (a join request, an add invite) is done with. */
function enroll(core: ServerCore, jid: string, phone: string): void {
  core.groups.setMember(jid, phone, null);
  core.groups.dropRequest(jid, phone);
  core.groups.dropAddInvite(jid, phone);
}

/**
 * Adds each phone or says why not, with the codes WhatsApp Web's addParticipants knows (whatsapp-web.js
 * GroupChat.js): 404 not on WhatsApp, 409 already in, 419 group full, 403 refused by privacy (with an invite).
 */
function addPhones(core: ServerCore, actor: string, jid: string, phones: string[], members: GroupMember[]): ParticipantResult[] {
  const inGroup = new Set(phonesOf(members));
  return phones.map((phone): ParticipantResult => {
    if (!core.store.phone(phone)) return { phone, status: 404 };
    if (inGroup.has(phone)) return { phone, status: 409 };
    if (inGroup.size >= GROUP_MAX) return { phone, status: 419 };
    if (!addAllowed(core, phone, actor)) {
      const addRequest = { code: random(12).toString("base64url").slice(0, 16), expiration: unixNow() + ADD_INVITE_TTL_S };
      core.groups.putAddInvite({ group_jid: jid, phone, code: addRequest.code, expiration: addRequest.expiration, admin: actor });
      return { phone, status: 403, addRequest };
    }
    enroll(core, jid, phone);
    inGroup.add(phone);
    return { phone, status: 200 };
  });
}

/**
 * New members heard of: their devices learn the whole group (`<create>`: whatsmeow JoinedGroup "you
 * join or are added"; Baileys groups.upsert), then every member's devices, theirs too, get `<add>`.
 */
function announceJoined(core: ServerCore, jid: string, actor: string, phones: string[], reason?: "invite"): void {
  if (!phones.length) return;
  const g = core.groups.group(jid)!;
  const members = core.groups.members(jid);
  notifyGroup(core, jid, actor, [node("create", { reason }, [groupNode(g, members, core.phoneRow)])], phones);
  notifyGroup(core, jid, actor, [node("add", { reason }, phones.map((p) => participantNode(core, p)))], phonesOf(members));
}

/**
 * One member joins by invite (a link, an approved request, a V4 add invite): stored, its pending
 * request dropped, everyone told `<add reason="invite">` (whatsmeow JoinReason). Full: 419 (our guess
 * that joins count against the limit as adds do). The caller has checked it is not a member yet.
 */
export function admitMember(core: ServerCore, jid: string, phone: string, actor: string): void {
  if (isFull(core, jid)) throw new GroupOpError(419, "resource-constraint");
  enroll(core, jid, phone);
  announceJoined(core, jid, actor, [phone], "invite");
}

/**
 * After members left or were removed: the last one out ends the group; a group left without an
 * admin gets one, its earliest-joined member (our guess: unofficial reports say WhatsApp promotes
 * someone when the last admin leaves); the rest rotate their sender keys.
 */
function afterDeparture(core: ServerCore, jid: string): boolean {
  const members = core.groups.members(jid);
  if (!members.length) {
    core.groups.delete(jid);
    return true;
  }
  if (!members.some((m) => m.admin)) {
    const heir = members[0].phone;
    core.groups.setMember(jid, heir, "admin");
    notifyGroup(core, jid, undefined, [node("promote", {}, [participantNode(core, heir)])], phonesOf(members));
  }
  core.groups.rotateSenderKeys(jid);
  return false;
}

/**
 * A new group: the owner is its superadmin, each participant is added or refused as an add would be
 * (results say which). `opts`: the client's create key (echoed in the notification) and settings.
 */
export function createGroup(core: ServerCore, owner: PhoneRow, subject: string, participants: string[], description?: string,
  opts: { key?: string; settings?: Pick<GroupPatch, "announce" | "locked" | "join_approval" | "member_add_mode">; addressing?: "pn" | "lid" } = {}) {
  const name = checkSubject(subject);
  if (description && [...description].length > DESCRIPTION_MAX) throw notAcceptable();
  const group: GroupRow = { jid: newGroupJid(), subject: name, creator: owner.phone, created_at: Date.now() };
  core.groups.insert(group, [{ phone: owner.phone, admin: "superadmin" }]);
  if (opts.addressing === "lid") setGroupAddressing(core.store, group.jid, "lid");
  core.groups.update(group.jid, { ...opts.settings, subject_by: owner.phone, subject_at: unixNow() });
  if (description) writeDescription(core, owner.phone, group.jid, description);
  const wanted = [...new Set(participants)].filter((p) => p !== owner.phone);
  const results = addPhones(core, owner.phone, group.jid, wanted, core.groups.members(group.jid));
  const members = core.groups.members(group.jid);
  const g = core.groups.group(group.jid)!;
  notifyGroup(core, group.jid, owner.phone, [node("create", { type: "new", key: opts.key }, [groupNode(g, members, core.phoneRow)])], phonesOf(members));
  core.log("group_created", { group: group.jid, owner: owner.phone, members: members.length });
  return { group: g, results };
}

const ACTIONS: ReadonlySet<string> = new Set<ParticipantAction>(["add", "remove", "promote", "demote"]);

export function changeParticipants(core: ServerCore, actor: string, jid: string, action: ParticipantAction, phones: string[]): ParticipantResult[] {
  if (!ACTIONS.has(action)) throw badRequest();
  const { group, members, me } = memberOf(core, actor, jid);
  const anyoneAdds = action === "add" && group.member_add_mode === "all_member_add";
  if (!me.admin && !anyoneAdds) throw notAuthorized();
  const wanted = [...new Set(phones)];
  if (!wanted.length) throw badRequest();
  let results: ParticipantResult[];
  if (action === "add") results = addPhones(core, actor, group.jid, wanted, members);
  else {
    const byPhone = new Map(members.map((m) => [m.phone, m]));
    results = wanted.map((phone): ParticipantResult => {
      const m = byPhone.get(phone);
      if (!m) return { phone, status: 404 };
      // The creator can't be removed or demoted by other admins (WhatsApp Help Center, "How to manage
      // group admins"); the code 406 is our guess.
      if (m.admin === "superadmin" && phone !== actor && me.admin !== "superadmin" && action !== "promote") return { phone, status: 406 };
      if (action === "remove") core.groups.removeMember(group.jid, phone);
      else core.groups.setMember(group.jid, phone, action === "promote" ? (m.admin === "superadmin" ? "superadmin" : "admin") : null);
      return { phone, status: 200 };
    });
  }
  const done = results.filter((r) => r.status === 200).map((r) => r.phone);
  if (!done.length) return results;
  if (action === "add") announceJoined(core, group.jid, actor, done);
  else {
    const change = node(action, {}, done.map((p) => participantNode(core, p)));
    const recipients = [...phonesOf(core.groups.members(group.jid)), ...(action === "remove" ? done : [])];
    notifyGroup(core, group.jid, actor, [change], recipients);
    if (action === "remove") afterDeparture(core, group.jid);
  }
  core.log("group_participants", { group: group.jid, actor, action, done: done.length, refused: results.length - done.length });
  return results;
}

function checkSubject(subject: string): string {
  const name = String(subject ?? "").trim();
  if (!name) throw badRequest();
  if ([...name].length > SUBJECT_MAX) throw notAcceptable();
  return name;
}

/** Info (subject, description) is every member's to edit unless the group is locked (then admins only). */
function editorOf(core: ServerCore, actor: string, jid: string) {
  const found = memberOf(core, actor, jid);
  if (found.group.locked && !found.me.admin) throw notAuthorized();
  return found;
}

export function setSubject(core: ServerCore, actor: string, jid: string, subject: string): void {
  const { group, members } = editorOf(core, actor, jid);
  const name = checkSubject(subject);
  const t = unixNow();
  core.groups.update(group.jid, { subject: name, subject_by: actor, subject_at: t });
  notifyGroup(core, group.jid, actor, [node("subject", { subject: name, s_t: String(t), s_o: pnJid(actor) })], phonesOf(members));
}

function writeDescription(core: ServerCore, actor: string, jid: string, text: string | null, id = newDescriptionId()): string {
  core.groups.update(jid, { description: text, description_id: id, description_by: actor, description_at: unixNow() });
  return id;
}

const newDescriptionId = () => `3A${random(8).toString("hex").toUpperCase()}`;

/**
 * A new description (or none: `null` or ""), under a new id. `prev` is the id the editor saw
 * (Baileys groupUpdateDescription, whatsmeow SetGroupTopic send it): a stale one is refused (409).
 */
export function setDescription(core: ServerCore, actor: string, jid: string, text: string | null, opts: { id?: string; prev?: string } = {}): string {
  const { group, members } = editorOf(core, actor, jid);
  const body = text ? String(text) : null;
  if (body && [...body].length > DESCRIPTION_MAX) throw notAcceptable();
  const current = group.description ? (group.description_id ?? "") : "";
  if (opts.prev !== undefined && current !== opts.prev) throw new GroupOpError(409, "conflict");
  const id = writeDescription(core, actor, group.jid, body, opts.id || newDescriptionId());
  const change = body ? node("description", { id }, [node("body", {}, Buffer.from(body, "utf8"))]) : node("description", { id }, [node("delete")]);
  notifyGroup(core, group.jid, actor, [change], phonesOf(members));
  return id;
}

/** The column a setting changes and its new value; anything else is no setting (400). */
function settingPatch(setting: GroupSetting): { column: "announce" | "locked"; value: number } {
  switch (setting) {
    case "announcement": return { column: "announce", value: 1 };
    case "not_announcement": return { column: "announce", value: 0 };
    case "locked": return { column: "locked", value: 1 };
    case "unlocked": return { column: "locked", value: 0 };
    default: throw badRequest();
  }
}

export function setSetting(core: ServerCore, actor: string, jid: string, setting: GroupSetting): void {
  const { group, members } = adminOf(core, actor, jid);
  const s = settingPatch(setting);
  core.groups.update(group.jid, { [s.column]: s.value });
  // whatsmeow parseGroupChange reads a version id (v_id) on announcement changes.
  notifyGroup(core, group.jid, actor, [node(setting, s.column === "announce" ? { v_id: String(Date.now()) } : {})], phonesOf(members));
}

export function setMemberAddMode(core: ServerCore, actor: string, jid: string, mode: MemberAddMode): void {
  const { group, members } = adminOf(core, actor, jid);
  if (mode !== "admin_add" && mode !== "all_member_add") throw badRequest();
  core.groups.update(group.jid, { member_add_mode: mode });
  notifyGroup(core, group.jid, actor, [node("member_add_mode", {}, mode)], phonesOf(members));
}

/**
 * The member leaves; everyone, the leaver too, hears `<remove>` by the leaver. The last one out
 * ends the group; the last admin out leaves the earliest-joined member as admin (afterDeparture).
 */
export function leaveGroup(core: ServerCore, phone: string, jid: string): void {
  const { group, members } = memberOf(core, phone, jid);
  core.groups.removeMember(group.jid, phone);
  notifyGroup(core, group.jid, phone, [node("remove", {}, [participantNode(core, phone)])], phonesOf(members));
  const ended = afterDeparture(core, group.jid);
  core.log("group_left", { group: group.jid, phone, ended });
}

/**
 * The invitee accepts the invite a refused add left (Baileys groupAcceptInviteV4 `<accept code
 * expiration admin>`): no such invite 404, another code or another admin 406, expired 410 (whatsmeow's
 * invite-link codes), already in 409, group full 419.
 */
export function acceptAddInvite(core: ServerCore, phone: string, jid: string, code: string, admin?: string): void {
  const group = core.groups.group(jid);
  if (!group) throw notFound();
  if (core.groups.members(group.jid).some((m) => m.phone === phone)) throw new GroupOpError(409, "conflict");
  if (isFull(core, group.jid)) throw new GroupOpError(419, "resource-constraint");
  const invite = core.groups.takeAddInvite(group.jid, phone, code, admin, unixNow());
  if (invite !== "ok") throw invite === "missing" ? notFound() : invite === "expired" ? new GroupOpError(410, "gone") : notAcceptable();
  admitMember(core, group.jid, phone, phone);
}

/**
 * An admin withdraws the add invites it left for `phones` (Baileys groupRevokeInviteV4 `<revoke>
 * <participant jid/>`): the invitee's accept then finds none (404). No invite for any of them: 404 (our guess).
 */
export function revokeAddInvites(core: ServerCore, actor: string, jid: string, phones: string[]): void {
  const { group } = adminOf(core, actor, jid);
  if (!phones.length) throw badRequest();
  const dropped = phones.filter((p) => core.groups.dropAddInvite(group.jid, p));
  if (!dropped.length) throw notFound();
  core.log("group_add_invites_revoked", { group: group.jid, actor, count: dropped.length });
}

/** Picture bytes WhatsApp takes: a JPEG (whatsmeow SetGroupPhoto: other formats get 406), at most this big (a sandbox bound). */
const PICTURE_MAX = 1024 * 1024;

/**
 * A new group picture (`null` removes it), for whoever may edit the info; returns its id. The
 * members hear a `picture` notification (not w:gp2).
 */
export function setPicture(core: ServerCore, actor: string, jid: string, jpeg: Uint8Array | null): string | null {
  const { group, members } = editorOf(core, actor, jid);
  let id: string | null = null;
  if (jpeg) {
    if (jpeg.length < 3 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8 || jpeg[2] !== 0xff || jpeg.length > PICTURE_MAX) throw notAcceptable();
    id = String(random(4).readUInt32BE(0));
    core.groups.putPicture(group.jid, id, jpeg);
  } else core.groups.deletePicture(group.jid);
  notifyGroupPicture(core, group.jid, actor, id, phonesOf(members));
  return id;
}
