import { getBinaryNodeChild, type BinaryNode, type GroupParticipant, type WASocket } from "baileys";
import { asChange } from "./groups.calls";
import { inviteFailure, refuse } from "./groups.errors";
import { resultFor } from "./groups.members";
import { matchOutcomes, participantOutcome, targetsAmong } from "./groups.targets";
import type { GroupValue, JoinRequestView, ParticipantResult, RequestAction } from "./groups.types";
import { groupDetail, isoFromSeconds, meOf, participantView, toGroupJid } from "./groups.view";

// Invite links, joining by one, and join requests (Baileys Socket/groups.js groupInviteCode,
// groupRevokeInvite, groupGetInviteInfo, groupAcceptInvite, groupRequestParticipantsList/Update;
// whatsmeow group.go GetGroupInviteLink, GetGroupInfoFromLink, JoinGroupWithLink).

export const INVITE_PREFIX = "https://chat.whatsapp.com/";

/** The link, or a new one (the old one revoked). 401 there: not an admin; 403: not in the group. */
export async function inviteLink(socket: WASocket, id: string, reset: boolean): Promise<GroupValue> {
  const code = await asChange(socket, id, () => (reset ? socket.groupRevokeInvite(id) : socket.groupInviteCode(id)));
  if (!code) throw new Error("WhatsApp answered the invite query without a code");
  return { kind: "invite_link", invite_link: INVITE_PREFIX + code };
}

/** Runs an invite-code query; a malformed (406) or unknown code and a revoked one (410) are refused. */
async function withCode<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (err) {
    const failure = inviteFailure(err);
    if (failure) throw refuse(failure);
    throw err;
  }
}

export async function inviteInfo(socket: WASocket, code: string): Promise<GroupValue> {
  const meta = await withCode(() => socket.groupGetInviteInfo(code));
  return { kind: "invite_info", group: groupDetail(meta, meOf(socket)) };
}

/**
 * Joins by code. The iq is Baileys' groupAcceptInvite, sent with `query` so both answers are
 * read: `<group jid>` (joined) and, for a group that approves members, `<membership_approval_request
 * jid>` (asked; whatsmeow JoinGroupWithLink).
 */
export async function joinByCode(socket: WASocket, code: string): Promise<GroupValue> {
  const answer = (await withCode(() => socket.query({ tag: "iq", attrs: { type: "set", xmlns: "w:g2", to: "@g.us" }, content: [{ tag: "invite", attrs: { code } }] }))) as BinaryNode;
  const requested = getBinaryNodeChild(answer, "membership_approval_request");
  const joined = getBinaryNodeChild(answer, "group");
  const jid = (requested ?? joined)?.attrs.jid;
  const groupId = jid ? toGroupJid(jid) : null;
  return { kind: "joined", group_id: groupId, status: requested ? "requested" : "joined" };
}

/** The pending requests as members-to-be: their jid, with the number or LID beside it. */
async function requesters(socket: WASocket, id: string): Promise<{ who: GroupParticipant; at: string | null }[]> {
  const list = await asChange(socket, id, () => socket.groupRequestParticipantsList(id));
  return list.map((attrs) => {
    const a = attrs as Record<string, string | undefined>;
    return { who: { id: a.jid ?? "", phoneNumber: a.phone_number, lid: a.lid }, at: isoFromSeconds(Number(a.request_time)) };
  });
}

export async function joinRequests(socket: WASocket, id: string): Promise<GroupValue> {
  const requests: JoinRequestView[] = (await requesters(socket, id)).map(({ who, at }) => {
    const { phone_number, lid } = participantView(who);
    return { phone_number, lid, requested_at: at };
  });
  return { kind: "requests", requests };
}

/** `names`: numbers or LIDs, looked up among the requests and answered by the requester's own id. */
export async function settleRequests(socket: WASocket, id: string, action: RequestAction, names: string[]): Promise<GroupValue> {
  const targets = targetsAmong((await requesters(socket, id)).map((r) => r.who), names);
  const answer = await asChange(socket, id, () => socket.groupRequestParticipantsUpdate(id, targets.map((t) => t.jid), action));
  const outcomes = answer.map((r) => participantOutcome({ tag: "participant", attrs: { jid: r.jid ?? "", error: r.status } }));
  const participants: ParticipantResult[] = matchOutcomes(targets, outcomes).map((o, i) =>
    resultFor(targets[i], o, o && o.error === null ? (action === "approve" ? "approved" : "rejected") : "failed"),
  );
  return { kind: "participants", participants };
}
