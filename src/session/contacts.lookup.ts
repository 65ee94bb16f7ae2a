import { USyncQuery, USyncUser, type WASocket } from "baileys";
import type { CheckedNumber } from "./contacts.types";
import { lidOf, phoneOf } from "./groups.view";

// Whether numbers are on WhatsApp, and their LIDs: one usync query (contact + lid protocols)
// per batch of numbers, as Baileys' onWhatsApp asks but with the lid protocol added.

/**
 * Numbers per usync query. WhatsApp's own limit is not documented; whatsmeow's IsOnWhatsApp sends
 * any number in one query and its device queries go by 15. 50 is our guess at a size WhatsApp
 * accepts without throttling (docs/protocol/contacts.md).
 */
export const NUMBERS_PER_QUERY = 50;

export async function checkNumbers(socket: WASocket, phones: string[]): Promise<CheckedNumber[]> {
  const found = new Map<string, { on: boolean; lid: string | null }>();
  const mappings: { lid: string; pn: string }[] = [];
  for (let i = 0; i < phones.length; i += NUMBERS_PER_QUERY) {
    const query = new USyncQuery().withContactProtocol().withLIDProtocol();
    for (const phone of phones.slice(i, i + NUMBERS_PER_QUERY)) query.withUser(new USyncUser().withPhone(`+${phone}`));
    const result = await socket.executeUSyncQuery(query);
    for (const user of result?.list ?? []) {
      const digits = phoneOf(user.id);
      if (!digits) continue;
      const lid = typeof user.lid === "string" ? lidOf(user.lid) : null;
      found.set(digits, { on: user.contact === true, lid });
      if (lid && user.contact === true) mappings.push({ lid, pn: `${digits}@s.whatsapp.net` });
    }
  }
  // What WhatsApp told about LIDs goes to Baileys' LID store (as its own usync LID queries do:
  // Socket/messages-send.js), so later LID-addressed messages and blocks resolve without asking again.
  await socket.signalRepository.lidMapping.storeLIDPNMappings(mappings);
  return phones.map((phone) => {
    const hit = found.get(phone);
    const on = hit?.on === true;
    return { phone_number: phone, on_whatsapp: on, jid: on ? `${phone}@s.whatsapp.net` : null, lid: on ? (hit?.lid ?? null) : null };
  });
}

/** One number: on WhatsApp with its LID, or null when it is not. */
export async function lookupNumber(socket: WASocket, phone: string): Promise<{ jid: string; lid: string | null } | null> {
  const [checked] = await checkNumbers(socket, [phone]);
  return checked.on_whatsapp ? { jid: checked.jid!, lid: checked.lid } : null;
}
