import { isLidUser, jidEncode, jidNormalizedUser, type GroupMetadata, type GroupParticipant, type WASocket } from "baileys";
import { jidToPhone } from "../domain/phone";
import type { GroupDetail, GroupRole, GroupView, ParticipantView } from "./groups.types";

// Baileys' group metadata (Socket/groups.js extractGroupMetadata) in the API's terms. A
// participant is addressed by its phone number (`…@s.whatsapp.net`, its LID in `lid`) or, in
// LID-addressed groups, by its LID (`…@lid`, its number in `phone_number` when the server says).

/** Who the session is: its phone-number JID and its LID (either may be unknown). */
export interface Me {
  pn: string | null;
  lid: string | null;
}

export function meOf(socket: WASocket): Me {
  const user = socket.user;
  return { pn: user?.id ? jidNormalizedUser(user.id) : null, lid: user?.lid ? jidNormalizedUser(user.lid) : null };
}

const roleOf = (admin: GroupParticipant["admin"]): GroupRole => (admin === "admin" || admin === "superadmin" ? admin : "member");

/** The phone number of a `…@s.whatsapp.net` jid; null for a LID or nothing. */
export function phoneOf(jid: string | undefined): string | null {
  return jid ? jidToPhone(jidNormalizedUser(jid)) : null;
}

/** A LID jid normalized (`…@lid`); null for anything else. */
export function lidOf(jid: string | undefined): string | null {
  return jid && isLidUser(jid) ? jidNormalizedUser(jid) : null;
}

/** A group id as answers give it ("1203…" or "1203…@g.us") → its jid. */
export const toGroupJid = (id: string): string => (id.includes("@") ? id : jidEncode(id, "g.us"));

export function participantView(p: GroupParticipant): ParticipantView {
  const isLid = isLidUser(p.id) === true;
  return {
    phone_number: isLid ? phoneOf(p.phoneNumber) : phoneOf(p.id),
    lid: isLid ? jidNormalizedUser(p.id) : lidOf(p.lid),
    role: roleOf(p.admin),
  };
}

/** Whether this participant is the session itself. */
export function isMe(p: GroupParticipant, me: Me): boolean {
  const ids = [p.id, p.phoneNumber, p.lid].filter((j): j is string => !!j).map((j) => jidNormalizedUser(j));
  return ids.some((j) => j === me.pn || j === me.lid);
}

export const isoFromSeconds = (s: number | undefined): string | null => (s && Number.isFinite(s) && s > 0 ? new Date(s * 1000).toISOString() : null);

/** The creator: its number (creator_pn, or creator when a number) and its LID (creator, or its participant's). */
function ownerOf(meta: GroupMetadata): { owner: string | null; owner_lid: string | null } {
  const number = phoneOf(meta.ownerPn) ?? phoneOf(meta.owner);
  const lid = lidOf(meta.owner);
  if (lid || !number) return { owner: number, owner_lid: lid };
  const member = meta.participants.find((p) => participantView(p).phone_number === number);
  return { owner: number, owner_lid: member ? participantView(member).lid : null };
}

export function groupView(meta: GroupMetadata, me: Me | null): GroupView {
  const mine = me ? meta.participants.find((p) => isMe(p, me)) : undefined;
  return {
    id: meta.id,
    name: meta.subject ?? "",
    description: meta.desc ?? null,
    ...ownerOf(meta),
    created_at: isoFromSeconds(meta.creation),
    size: meta.size ?? meta.participants.length,
    announce: meta.announce === true,
    locked: meta.restrict === true,
    join_approval: meta.joinApprovalMode === true,
    role: mine ? roleOf(mine.admin) : null,
  };
}

export function groupDetail(meta: GroupMetadata, me: Me | null): GroupDetail {
  return { ...groupView(meta, me), participants: meta.participants.map(participantView) };
}
