import type { BaileysEventMap, WASocket } from "baileys";
import { isLidUser, isPnUser, jidNormalizedUser } from "baileys";
import type { SessionConfig } from "./session.types";

// LID ↔ number pairs WhatsApp tells in group metadata and group notifications (`<participant
// jid=LID phone_number=PN>`, `creator`/`creator_pn`, `participant`/`participant_pn`): Baileys reads
// them but keeps only those of messages (its "TODO: Store LID MAPPINGS"). Kept in its LID store here,
// so a member known only from the group (a receipt, a mention) still maps to its number.

type Pair = { lid: string; pn: string };

function pair(a: string | undefined | null, b: string | undefined | null): Pair[] {
  if (!a || !b) return [];
  if (isLidUser(a) && isPnUser(b)) return [{ lid: jidNormalizedUser(a), pn: jidNormalizedUser(b) }];
  if (isPnUser(a) && isLidUser(b)) return [{ lid: jidNormalizedUser(b), pn: jidNormalizedUser(a) }];
  return [];
}

interface Member {
  id?: string | null;
  phoneNumber?: string | null;
  lid?: string | null;
}
const ofMember = (m: Member): Pair[] => [...pair(m.id, m.phoneNumber), ...pair(m.id, m.lid)];

/** Every LID ↔ number pair in one batch of Baileys' group events. */
export function lidPairsIn(events: Partial<BaileysEventMap>): Pair[] {
  const groups = [...(events["groups.upsert"] ?? []), ...(events["groups.update"] ?? [])];
  const fromGroups = groups.flatMap((g) => [...(g.participants ?? []).flatMap(ofMember), ...pair(g.owner, g.ownerPn), ...pair(g.subjectOwner, g.subjectOwnerPn), ...pair(g.descOwner, g.descOwnerPn)]);
  const change = events["group-participants.update"];
  const fromChanges = change
    ? [...pair(change.author, change.authorPn), ...(change.participants ?? []).flatMap((p) => (typeof p === "string" ? [] : ofMember(p as Member)))]
    : [];
  return [...fromGroups, ...fromChanges];
}

export async function onLidEvents(_parts: unknown, _config: SessionConfig, events: Partial<BaileysEventMap>, socket: WASocket): Promise<void> {
  const pairs = lidPairsIn(events);
  if (pairs.length) await socket.signalRepository.lidMapping.storeLIDPNMappings(pairs);
}
