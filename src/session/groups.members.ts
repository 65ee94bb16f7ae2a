import { generateMessageIDV2, type WASocket } from "baileys";
import { jidToPhone, phoneToJid } from "../domain/phone";
import type { ParticipantAction, ParticipantResult, ParticipantStatus } from "./groups.types";
import { matchOutcomes, type ParticipantOutcome, type Target } from "./groups.targets";

// Adding people: numbers not on WhatsApp are left out first (usync contact query, as
// `onWhatsApp`), then the server answers per participant. A participant whose privacy refuses
// direct adds comes back with error 403 and an `<add_request code expiration>` child (whatsmeow
// group.go parseParticipant); they get a group invite message (`groupInviteMessage`) instead.

/** The subset of `phones` WhatsApp knows (one usync query). */
export async function onWhatsApp(socket: WASocket, phones: string[]): Promise<Set<string>> {
  if (phones.length === 0) return new Set();
  const found = (await socket.onWhatsApp(...phones.map(phoneToJid))) ?? [];
  return new Set(found.filter((r) => r.exists).map((r) => jidToPhone(r.jid)).filter((p): p is string => !!p));
}

const DONE: Record<ParticipantAction, ParticipantStatus> = { add: "added", remove: "removed", promote: "promoted", demote: "demoted" };

/** What one participant's outcome means for this action (an add request is settled by the caller). */
export function statusFor(action: ParticipantAction, error: number | null): ParticipantStatus {
  if (error === null) return DONE[action];
  if (action === "add") return error === 409 ? "already_member" : error === 404 ? "not_on_whatsapp" : "failed";
  return error === 404 ? "not_member" : "failed";
}

export interface InviteTarget {
  groupJid: string;
  groupName: string;
}

/** Sends the contact a group invite message carrying the add request's code. */
export async function sendGroupInvite(socket: WASocket, phone: string, group: InviteTarget, request: { code: string; expiration: number }): Promise<void> {
  await socket.relayMessage(
    phoneToJid(phone),
    { groupInviteMessage: { groupJid: group.groupJid, inviteCode: request.code, inviteExpiration: request.expiration, groupName: group.groupName, caption: `Join "${group.groupName}" on WhatsApp` } },
    { messageId: generateMessageIDV2(socket.user?.id) },
  );
}

/** A result naming the participant in every form known (asked for, or in WhatsApp's answer). */
export const resultFor = (t: Target, o: ParticipantOutcome | undefined, status: ParticipantStatus): ParticipantResult => ({
  phone_number: t.phone_number ?? o?.phone ?? null,
  lid: t.lid ?? o?.lid ?? null,
  status,
  whatsapp_code: o?.error ?? null,
});

/**
 * Every target's result: not on WhatsApp (`known`, for adds), or what the server said for it. A
 * refused direct add with an add request becomes an invite message; if that message cannot be
 * sent the result stays `failed` with the server's code. Never throws for a participant.
 */
export async function settleResults(
  socket: WASocket,
  action: ParticipantAction,
  targets: Target[],
  known: Set<string> | null,
  outcomes: ParticipantOutcome[],
  group: InviteTarget,
): Promise<ParticipantResult[]> {
  const absent = (t: Target) => known !== null && !(t.phone_number && known.has(t.phone_number));
  const asked = targets.filter((t) => !absent(t));
  const matched = matchOutcomes(asked, outcomes);
  const results: ParticipantResult[] = [];
  for (const t of targets) {
    if (absent(t)) {
      results.push(resultFor(t, undefined, "not_on_whatsapp"));
      continue;
    }
    const o = matched[asked.indexOf(t)];
    const phone = t.phone_number ?? o?.phone;
    if (action === "add" && o?.addRequest && phone) {
      const sent = await sendGroupInvite(socket, phone, group, o.addRequest).then(() => true, () => false);
      results.push(resultFor(t, o, sent ? "invited" : "failed"));
      continue;
    }
    results.push(resultFor(t, o, o ? statusFor(action, o.error) : "failed"));
  }
  return results;
}
