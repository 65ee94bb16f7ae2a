import type { WAMessageKey, WASocket } from "baileys";
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

/** Who sent a received message and in which chat, as stored and reported (receive.ts). */
export interface MessageAddress {
  isGroup: boolean;
  /** The chat: a group id, a contact's number jid when the number is known, else the jid it came on. */
  chatId: string;
  /** The sender's number; null for a sender known only by its LID (never LID digits). */
  fromNumber: string | null;
  fromLid: string | null;
  /** A 1:1 chat's LID (null in groups). */
  chatLid: string | null;
}

/** A received message's key in numbers first: the `*_pn` attribute (`…Alt`), else the LID store. */
export async function addressOf(lookup: LidLookup, key: Pick<WAMessageKey, "remoteJid" | "remoteJidAlt" | "participant" | "participantAlt">): Promise<MessageAddress> {
  const chat = key.remoteJid ?? "";
  const isGroup = chat.endsWith("@g.us");
  const senderJid = isGroup ? (key.participant ?? "") : chat;
  const sender = await nameOf(lookup, senderJid, isGroup ? key.participantAlt : key.remoteJidAlt);
  return {
    isGroup,
    // Other 1:1 chats (a bot's) keep their jid; their user part stays the sender, as before LIDs.
    chatId: !isGroup && sender.number ? `${sender.number}@s.whatsapp.net` : chat,
    fromNumber: sender.number ?? (sender.lid ? null : senderJid.split("@")[0]),
    fromLid: sender.lid,
    chatLid: isGroup ? null : sender.lid,
  };
}
