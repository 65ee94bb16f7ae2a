import { parsePhoneNumberFromString } from "libphonenumber-js";
import { BoundedCache } from "./bounded-cache";

// WhatsApp addresses people by their international number without "+" ("22997000000").
// Input may carry "+", spaces, dashes or parentheses; a leading "00" is the same as "+".

// Parsing costs up to a few tenths of a millisecond (a calling code shared by many countries,
// as +1, is matched against each), and the same numbers come back send after send.
const parsedNumbers = new BoundedCache<string | null>(10_000, Number.POSITIVE_INFINITY);

/** The digits-only international number, or null when it is not a valid phone number. */
export function normalizePhone(input: string): string | null {
  const trimmed = input.trim().replace(/^00/, "+");
  if (!/^\+?[\d\s().-]{6,24}$/.test(trimmed)) return null;
  const digits = trimmed.replace(/\D/g, "");
  const known = parsedNumbers.get(digits);
  if (known !== undefined) return known;
  const parsed = parsePhoneNumberFromString(`+${digits}`);
  // isPossible (country code + length), not isValid: number-range metadata lags behind new
  // ranges, and refusing a real recipient is worse than letting WhatsApp say "not on WhatsApp".
  const normalized = parsed?.isPossible() ? parsed.number.slice(1) : null;
  parsedNumbers.set(digits, normalized);
  return normalized;
}

// A group id as WhatsApp writes it: the creator's number and a time ("15551234567-1600000000@g.us",
// older groups) or "120363" + digits (groups made since 2021).
const GROUP_ID = /^\d{1,30}(-\d{1,20})?@g\.us$/;

/** Whether this is a WhatsApp group id ("120363...@g.us"). */
export function isGroupId(value: string): boolean {
  return GROUP_ID.test(value);
}

/** A recipient as sent to: a group id (kept as is), else the digits of a phone number; null when neither. */
export function normalizeRecipient(input: string): string | null {
  const trimmed = input.trim();
  return isGroupId(trimmed) ? trimmed : normalizePhone(trimmed);
}

/** Whether a stored recipient is a phone number's digits (not a group's or a LID's JID). */
export function isPhoneRecipient(to: string): boolean {
  return /^\d+$/.test(to);
}

/** Phone number → WhatsApp user JID. */
export function phoneToJid(phone: string): string {
  return `${phone}@s.whatsapp.net`;
}

/** A recipient as stored (digits, or a JID such as a group's "1203...@g.us") → its chat JID. */
export function chatJid(to: string): string {
  return to.includes("@") ? to : phoneToJid(to);
}

/** "22997000000@s.whatsapp.net" or "22997000000:3@s.whatsapp.net" → "22997000000". */
export function jidToPhone(jid: string): string | null {
  const match = /^(\d+)(?::\d+)?@s\.whatsapp\.net$/.exec(jid);
  return match ? match[1] : null;
}

/**
 * A JID's user and server without agent or device, as Baileys' jidDecode splits it
 * ("user_agent:device@server"): "229…:3@s.whatsapp.net" → {user "229…", server "s.whatsapp.net"}.
 */
export function jidParts(jid: string | null | undefined): { user: string; server: string } | null {
  const at = jid?.indexOf("@") ?? -1;
  if (!jid || at <= 0) return null;
  const user = jid.slice(0, at).split(":")[0].split("_")[0];
  const server = jid.slice(at + 1);
  return user ? { user, server: server === "c.us" ? "s.whatsapp.net" : server } : null;
}

/** A JID's user part ("229…:3@s.whatsapp.net" → "229…", "123:2@lid" → "123"), null when it has none. */
export function jidUser(jid: string | null | undefined): string | null {
  return jidParts(jid)?.user ?? null;
}

/** The session's own account as Baileys names it (creds.me / socket.user): its number's JID and its LID. */
export interface OwnIds {
  id?: string | null;
  lid?: string | null;
}

/** Whether a JID (any device) is the session's own account, by its number or by its LID. */
export function isOwnJid(jid: string | null | undefined, me: OwnIds | null | undefined): boolean {
  const who = jidParts(jid);
  if (!who || !me) return false;
  return [me.id, me.lid].some((own) => {
    const o = jidParts(own);
    return o !== null && o.user === who.user && o.server === who.server;
  });
}
