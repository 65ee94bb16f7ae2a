import type { GroupMetadata, GroupParticipant, WASocket } from "baileys";
import { log } from "../platform/log";
import { asChange, metadata } from "./groups.calls";
import { groupNotFound, notGroupAdmin, partlyApplied, refuse } from "./groups.errors";
import { onWhatsApp, settleResults } from "./groups.members";
import { fetchGroupPhoto, setGroupPhoto } from "./groups.photo";
import { memberTarget, participantOutcome, targetsAmong, type Target } from "./groups.targets";
import type { GroupChanges, GroupContext, GroupValue, ParticipantAction } from "./groups.types";
import { groupDetail, isMe, meOf } from "./groups.view";

// Changes an admin makes. The session's own role is read first, so a refusal comes before any
// part of a change is applied (WhatsApp's rules: settings and members are the admins'; the
// subject, description and picture too once the group is `locked`; members may add others
// only in `all_member_add` mode). WhatsApp's own refusal is still mapped (groups.calls.ts).

interface Standing {
  meta: GroupMetadata;
  mine: GroupParticipant;
  admin: boolean;
}

async function standing(socket: WASocket, id: string): Promise<Standing> {
  const meta = await metadata(socket, id);
  const mine = meta.participants.find((p) => isMe(p, meOf(socket)));
  if (!mine) throw groupNotFound();
  return { meta, mine, admin: mine.admin === "admin" || mine.admin === "superadmin" };
}

export async function changeGroup(ctx: GroupContext, id: string, changes: GroupChanges): Promise<GroupValue> {
  const { socket } = ctx;
  const { meta, admin } = await standing(socket, id);
  const settings = changes.announce !== undefined || changes.locked !== undefined || changes.join_approval !== undefined;
  const info = changes.name !== undefined || changes.description !== undefined || changes.photo_url !== undefined;
  if (!admin && (settings || (info && meta.restrict))) throw notGroupAdmin();
  // Downloaded before anything changes: a bad photo_url refuses the whole request.
  const photo = changes.photo_url ? await fetchGroupPhoto(ctx.env, changes.photo_url) : null;
  // Each field is its own query: a failure part-way says which fields are already changed.
  const applied: (keyof GroupChanges)[] = [];
  const run = async (field: keyof GroupChanges, change: () => Promise<unknown>) => {
    try {
      await asChange(socket, id, change);
    } catch (err) {
      throw partlyApplied(err, applied);
    }
    applied.push(field);
  };
  if (changes.name !== undefined) await run("name", () => socket.groupUpdateSubject(id, changes.name!));
  // Baileys deletes the description when given none.
  if (changes.description !== undefined) await run("description", () => socket.groupUpdateDescription(id, changes.description || undefined));
  if (photo) await run("photo_url", () => setGroupPhoto(socket, id, photo));
  if (changes.announce !== undefined) await run("announce", () => socket.groupSettingUpdate(id, changes.announce ? "announcement" : "not_announcement"));
  if (changes.locked !== undefined) await run("locked", () => socket.groupSettingUpdate(id, changes.locked ? "locked" : "unlocked"));
  if (changes.join_approval !== undefined) await run("join_approval", () => socket.groupJoinApprovalMode(id, changes.join_approval ? "on" : "off"));
  const after = await metadata(socket, id).catch((err: unknown) => {
    throw partlyApplied(err, applied);
  });
  return { kind: "group", group: groupDetail(after, meOf(socket)) };
}

/** One participants query for `targets`; each target's result. */
async function participantsQuery(socket: WASocket, meta: GroupMetadata, action: ParticipantAction, targets: Target[], known: Set<string> | null) {
  const asked = known ? targets.filter((t) => t.phone_number && known.has(t.phone_number)) : targets;
  const answer = asked.length ? await asChange(socket, meta.id, () => socket.groupParticipantsUpdate(meta.id, asked.map((t) => t.jid), action)) : [];
  const outcomes = answer.map((r) => participantOutcome(r.content));
  return settleResults(socket, action, targets, known, outcomes, { groupJid: meta.id, groupName: meta.subject });
}

/** `names`: numbers (add), or numbers and LIDs (the rest), each looked up among the members. */
export async function updateParticipants(socket: WASocket, id: string, action: ParticipantAction, names: string[]): Promise<GroupValue> {
  const { meta, admin } = await standing(socket, id);
  if (!admin && !(action === "add" && meta.memberAddMode)) throw notGroupAdmin();
  // A number already in the group is named by its own id (WhatsApp answers 409 for it).
  const targets = targetsAmong(meta.participants, names);
  const known = action === "add" ? await onWhatsApp(socket, names) : null;
  return { kind: "participants", participants: await participantsQuery(socket, meta, action, targets, known) };
}

/**
 * WhatsApp has no group deletion: every other participant is removed, then the session leaves,
 * only once every removal succeeded. A superadmin (the creator) cannot be removed by a plain
 * admin, so that case is refused before anything changes.
 */
export async function deleteGroup(socket: WASocket, id: string): Promise<GroupValue> {
  const { meta, mine, admin } = await standing(socket, id);
  if (!admin) throw notGroupAdmin();
  const others = meta.participants.filter((p) => p !== mine);
  if (mine.admin !== "superadmin" && others.some((p) => p.admin === "superadmin")) {
    throw refuse({ status: 409, code: "cannot_remove_creator", message: "The group's creator (a superadmin) is in it and only a superadmin may remove them; nothing was changed." });
  }
  const participants = await participantsQuery(socket, meta, "remove", others.map(memberTarget), null);
  if (!participants.every((r) => r.status === "removed")) return { kind: "deleted", participants, left: false };
  const left = await socket.groupLeave(id).then(
    () => true,
    (err: unknown) => {
      log.warn({ group: id, err: err instanceof Error ? err.message : String(err) }, "leaving the emptied group failed");
      return false;
    },
  );
  return { kind: "deleted", participants, left };
}
