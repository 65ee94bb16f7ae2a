import type { WASocket } from "baileys";
import { lidOf, phoneOf } from "./groups.view";

// Who a jid names, in the webhooks' terms: a phone number, else a LID (never a LID where a
// number is expected). A LID is mapped to its number through Baileys' LID store (the mappings
// WhatsApp told this device), as the group API does.

/** A LID → its phone-number jid when the LID store knows it, else null. */
export type LidLookup = (lid: string) => Promise<string | null>;

export function lidLookup(socket: WASocket): LidLookup {
  return async (lid) => (await socket.signalRepository.lidMapping.getPNForLID(lid).catch(() => null)) ?? null;
}

export interface Named {
  number: string | null;
  /** The normalized LID (`…@lid`), when one was given. */
  lid: string | null;
}

/** The number and LID of one user given in any of its forms (number jid, LID, device jids). */
export async function nameOf(lookup: LidLookup, ...jids: (string | null | undefined)[]): Promise<Named> {
  const known = jids.filter((j): j is string => Boolean(j));
  const lid = known.map(lidOf).find((l) => l !== null) ?? null;
  let number = known.map(phoneOf).find((n) => n !== null) ?? null;
  if (!number && lid) number = phoneOf((await lookup(lid)) ?? undefined);
  return { number, lid };
}
