import type { BaileysEventMap, GroupMetadata, WASocket } from "baileys";
import { ackErrorReason } from "../domain/ack-errors";
import { BoundedCache } from "../domain/bounded-cache";
import { isOwnJid, type OwnIds } from "../domain/phone";

// What the sender needs to know about a group it sends into: its participants (for
// mention_all and for Baileys' sender-key fan-out), and why the server refused a message
// (announce-only, not a member). Metadata comes from WhatsApp (Baileys groupMetadata, the w:g2
// query), is kept briefly per group, and is handed to Baileys as `cachedGroupMetadata`, so a
// burst of group sends costs one query; a group notification drops the group's entry.
// Sources: docs/protocol/sending.md.

const METADATA_TTL_MS = 60_000;
const GROUPS_KEPT = 200;

/** The failure reasons of group sends the server refused. */
export const GROUP_REFUSALS = {
  announceOnly: "group_announce_only",
  notMember: "not_group_member",
  notFound: "group_not_found",
} as const;

/** The group-info read refused: not a member, or no such group (a final failure of the send). */
export class GroupRefusal extends Error {}

/** The IQ error code Baileys attaches to a failed query (WABinary assertNodeErrorFree: Boom data). */
function iqErrorCode(err: unknown): number | null {
  const data = (err as { data?: unknown } | null)?.data;
  return typeof data === "number" ? data : null;
}

/**
 * A refused group-info query: 403 is "not in the group" and 404 "no such group" (whatsmeow
 * group.go getGroupInfo: ErrIQForbidden → ErrNotInGroup, ErrIQNotFound → ErrGroupNotFound).
 * null: something else (a timeout, a closed socket), which a retry may fix.
 */
export function groupQueryRefusal(err: unknown): string | null {
  const code = iqErrorCode(err);
  if (code === 403) return GROUP_REFUSALS.notMember;
  if (code === 404) return GROUP_REFUSALS.notFound;
  return null;
}

/** The session's own account (its number's JID and LID) as the socket knows it. */
const ownIdsOf = (socket: WASocket): OwnIds | undefined => socket.user as OwnIds | undefined;

export class GroupDirectory {
  private readonly cache = new BoundedCache<GroupMetadata>(GROUPS_KEPT, METADATA_TTL_MS);

  /**
   * The group's metadata, fresh within METADATA_TTL_MS. A refused query (not a member, no such
   * group) throws GroupRefusal; any other failure is rethrown as it came.
   */
  async read(socket: WASocket, groupJid: string): Promise<GroupMetadata> {
    const hit = this.cache.get(groupJid);
    if (hit) return hit;
    let meta: GroupMetadata;
    try {
      meta = await socket.groupMetadata(groupJid);
    } catch (err) {
      const refusal = groupQueryRefusal(err);
      throw refusal ? new GroupRefusal(refusal) : err;
    }
    this.cache.set(groupJid, meta);
    return meta;
  }

  /** Baileys' `cachedGroupMetadata`: what read() keeps, or undefined (Baileys then queries itself). */
  readonly cached = async (groupJid: string): Promise<GroupMetadata | undefined> => this.cache.get(groupJid);

  /** Group notifications (members, settings) make a group's entry stale. */
  onEvents(events: Partial<BaileysEventMap>): void {
    const participants = events["group-participants.update"];
    if (participants) this.cache.delete(participants.id);
    for (const { id } of events["groups.update"] ?? []) if (id) this.cache.delete(id);
  }

  /** Every participant's jid but the session's own (mention_all). */
  async everyone(socket: WASocket, groupJid: string): Promise<string[]> {
    const meta = await this.read(socket, groupJid);
    const me = ownIdsOf(socket);
    return meta.participants.filter((p) => !isMe(p, me)).map((p) => p.id);
  }

  /**
   * The reason to fail a group message the server refused with `code`, read from fresh
   * metadata: not a member, or an announce-only group where the session is no admin. The
   * server's code for these is not documented (docs/protocol/sending.md), so the group's state
   * names the reason; anything else keeps the code.
   */
  async refusalReason(socket: WASocket, groupJid: string, code: string): Promise<string> {
    this.cache.delete(groupJid);
    let meta: GroupMetadata;
    try {
      meta = await this.read(socket, groupJid);
    } catch (err) {
      return err instanceof GroupRefusal ? err.message : ackErrorReason(code);
    }
    const me = ownIdsOf(socket);
    const mine = meta.participants.find((p) => isMe(p, me));
    if (!mine) return GROUP_REFUSALS.notMember;
    if (meta.announce && !mine.admin) return GROUP_REFUSALS.announceOnly;
    return ackErrorReason(code);
  }
}

/** Whether a participant is the session itself, by any of the ids WhatsApp gives it. */
function isMe(p: GroupMetadata["participants"][number], me: OwnIds | undefined): boolean {
  return [p.id, p.phoneNumber, p.lid].some((jid) => isOwnJid(jid, me));
}
