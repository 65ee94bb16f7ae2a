import type { GroupMetadata, WASocket } from "baileys";
import { groupNotFound, isForbidden, isNotFound, notGroupAdmin } from "./groups.errors";
import { isMe, meOf } from "./groups.view";

// The two ways a group query fails for the caller's own reasons: reading a group it cannot see,
// and changing one it may not change.

/** The group's metadata; 404/403 (unknown, or not a member: whatsmeow ErrNotInGroup) → group_not_found. */
export async function metadata(socket: WASocket, id: string): Promise<GroupMetadata> {
  try {
    return await socket.groupMetadata(id);
  } catch (err) {
    if (isNotFound(err) || isForbidden(err)) throw groupNotFound();
    throw err;
  }
}

/**
 * Runs a change; a 401/403 is told apart by reading the group: a member who may not do this is
 * `not_group_admin`, anyone else `group_not_found`; 404 is `group_not_found`.
 */
export async function asChange<T>(socket: WASocket, id: string, change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (err) {
    if (isNotFound(err)) throw groupNotFound();
    if (!isForbidden(err)) throw err;
    const meta = await metadata(socket, id);
    throw meta.participants.some((p) => isMe(p, meOf(socket))) ? notGroupAdmin() : groupNotFound();
  }
}
