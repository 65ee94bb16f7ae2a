import { Buffer } from "node:buffer";
import { random } from "./crypto";
import type { GroupRow } from "./groups";
import { notifyGroup } from "./groups.notify";
import { GroupOpError, adminOf, admitMember, isFull, phonesOf } from "./groups.ops";
import type { ServerCore } from "./server.core";
import { type BinaryNode, lidJid, node, pnJid } from "./stanzas";

// Invite links, joining by link, and join requests, as the server keeps them (the client sides:
// Baileys Socket/groups.js groupInviteCode / groupRevokeInvite / groupGetInviteInfo /
// groupAcceptInvite / groupJoinApprovalMode / groupRequestParticipantsList /
// groupRequestParticipantsUpdate; whatsmeow group.go). Shapes, codes and sources:
// docs/protocol/groups-invites.md. Used by the iq handlers and by the driver (a phone joining).

export const INVITE_LINK_PREFIX = "https://chat.whatsapp.com/";
const CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** Where a revoked code is remembered (the world's `meta` table), so using it answers 410 rather than 406. */
const revokedKey = (code: string) => `revoked_invite:${code}`;

/** Real invite codes are 22 letters and digits. */
export function newInviteCode(): string {
  const bytes = random(22);
  return Array.from(bytes, (b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join("");
}

/** The code of a `https://chat.whatsapp.com/<code>` link, or the code itself (whatsmeow stripURLPrefix). */
export const codeOfLink = (link: string): string => (link.startsWith(INVITE_LINK_PREFIX) ? link.slice(INVITE_LINK_PREFIX.length) : link);

const adminsOf = (core: ServerCore, jid: string) => core.groups.members(jid).filter((m) => m.admin).map((m) => m.phone);
const isMember = (core: ServerCore, jid: string, phone: string) => core.groups.members(jid).some((m) => m.phone === phone);

/**
 * Only an admin may see or reset the link, or manage join requests: not a member → 403 forbidden, a
 * member who is not an admin → 401 not-authorized (whatsmeow GetGroupInviteLink maps exactly these;
 * that requests are refused alike is our guess).
 */
export const requireLinkAdmin = (core: ServerCore, actor: string, jid: string): GroupRow => adminOf(core, actor, jid).group;

/**
 * The group's invite code; created on first ask. `reset`: a new code, the old one dead (410 from
 * then on), and the admins' devices told `<invite code=new>` (Baileys GROUP_CHANGE_INVITE_LINK).
 */
export function inviteCode(core: ServerCore, actor: string, jid: string, reset: boolean): string {
  const g = requireLinkAdmin(core, actor, jid);
  if (g.invite_code && !reset) return g.invite_code;
  const code = newInviteCode();
  core.groups.update(g.jid, { invite_code: code });
  if (g.invite_code) {
    core.store.setMeta(revokedKey(g.invite_code), Buffer.from(g.jid));
    notifyGroup(core, g.jid, actor, [node("invite", { code })], adminsOf(core, g.jid));
  }
  core.log("group_invite_code", { group: g.jid, reset: !!g.invite_code });
  return code;
}

/** The group a code opens: a revoked code → 410 gone, one never issued → 406 not-acceptable (whatsmeow ErrInviteLinkRevoked / ErrInviteLinkInvalid). */
export function groupOfCode(core: ServerCore, code: string): GroupRow {
  const g = code ? core.groups.byInviteCode(code) : undefined;
  if (g) return g;
  if (code && core.store.getMeta(revokedKey(code))) throw new GroupOpError(410, "gone");
  throw new GroupOpError(406, "not-acceptable");
}

export type JoinResult = { status: "joined"; group: GroupRow } | { status: "pending"; group: GroupRow };

/**
 * A phone joins by code: added at once (`<add reason="invite">` to every member, the joiner
 * included), or, when the group wants approval, a pending request: the admins hear
 * `<created_membership_requests request_method="invite_link"><requested_user/>` and the requester's own
 * devices `<membership_approval_request request_method>` (whatsapp-rust wacore/src/stanza/groups.rs
 * MembershipApprovalRequest: "requester is on parent participant"). Already a member: 409; full: 419.
 */
export function joinByCode(core: ServerCore, phone: string, code: string): JoinResult {
  const g = groupOfCode(core, code);
  if (isMember(core, g.jid, phone)) throw new GroupOpError(409, "conflict");
  if (isFull(core, g.jid)) throw new GroupOpError(419, "resource-constraint");
  if (g.join_approval) {
    if (!core.groups.hasRequest(g.jid, phone)) {
      core.groups.putRequest(g.jid, phone, "invite_link");
      const p = core.phoneRow(phone);
      notifyGroup(core, g.jid, phone, [node("created_membership_requests", { request_method: "invite_link" }, [
        node("requested_user", { jid: pnJid(phone), lid: p ? lidJid(p.lid) : undefined }),
      ])], adminsOf(core, g.jid));
      notifyGroup(core, g.jid, phone, [node("membership_approval_request", { request_method: "invite_link" })], [phone]);
    }
    core.log("group_join_requested", { group: g.jid, phone });
    return { status: "pending", group: g };
  }
  admitMember(core, g.jid, phone, phone);
  core.log("group_joined_by_link", { group: g.jid, phone });
  return { status: "joined", group: g };
}

/** Turns approval on or off; every member hears `<membership_approval_mode><group_join state/>`. Pending requests stay. */
export function setJoinApproval(core: ServerCore, actor: string, jid: string, on: boolean): void {
  const { group: g, members } = adminOf(core, actor, jid);
  core.groups.update(g.jid, { join_approval: on ? 1 : 0 });
  const change = node("membership_approval_mode", {}, [node("group_join", { state: on ? "on" : "off" })]);
  notifyGroup(core, g.jid, actor, [change], phonesOf(members));
}

export interface JoinRequest {
  phone: string;
  method: string;
  requested_at: number;
}

export const joinRequests = (core: ServerCore, jid: string): JoinRequest[] => core.groups.requests(jid);

/** `<membership_approval_requests>` with one `<membership_approval_request jid request_time>` each (whatsmeow GetGroupRequestParticipants). */
export function requestsNode(core: ServerCore, actor: string, jid: string): BinaryNode {
  requireLinkAdmin(core, actor, jid);
  return node("membership_approval_requests", {}, joinRequests(core, jid).map((r) =>
    node("membership_approval_request", { jid: pnJid(r.phone), request_time: String(Math.floor(r.requested_at / 1000)) })));
}

export interface RequestOutcome {
  phone: string;
  /** 200, or the participant's error: 404 no pending request from them, 409 already a member, 419 group full. */
  status: number;
}

/**
 * Approve: the requester becomes a member (`<add reason="invite">` from the approving admin to all).
 * Reject: the request goes, the admins and the requester hear `<revoked_membership_requests>`
 * (Baileys: acting admin ≠ requester → action "rejected"; that the requester hears it is our guess).
 * Each phone is answered once, in the order first asked.
 */
export function answerRequests(core: ServerCore, actor: string, jid: string, action: "approve" | "reject", phones: string[]): RequestOutcome[] {
  const g = requireLinkAdmin(core, actor, jid);
  const out = [...new Set(phones)].map((phone): RequestOutcome => {
    if (!core.groups.hasRequest(g.jid, phone)) return { phone, status: isMember(core, g.jid, phone) ? 409 : 404 };
    if (action === "reject") {
      core.groups.dropRequest(g.jid, phone);
      notifyGroup(core, g.jid, actor, [node("revoked_membership_requests", {}, [node("participant", { jid: pnJid(phone) })])], [...adminsOf(core, g.jid), phone]);
      return { phone, status: 200 };
    }
    if (isFull(core, g.jid)) return { phone, status: 419 };
    admitMember(core, g.jid, phone, actor);
    return { phone, status: 200 };
  });
  core.log("group_requests_answered", { group: g.jid, action, count: out.filter((o) => o.status === 200).length });
  return out;
}
