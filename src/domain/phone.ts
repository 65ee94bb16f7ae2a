import { parsePhoneNumberFromString } from "libphonenumber-js";

// WhatsApp addresses people by their international number without "+" ("22997000000").
// Input may carry "+", spaces, dashes or parentheses; a leading "00" is the same as "+".

/** The digits-only international number, or null when it is not a valid phone number. */
export function normalizePhone(input: string): string | null {
  const trimmed = input.trim().replace(/^00/, "+");
  if (!/^\+?[\d\s().-]{6,24}$/.test(trimmed)) return null;
  const digits = trimmed.replace(/\D/g, "");
  const parsed = parsePhoneNumberFromString(`+${digits}`);
  // isPossible (country code + length), not isValid: number-range metadata lags behind new
  // ranges, and refusing a real recipient is worse than letting WhatsApp say "not on WhatsApp".
  if (!parsed?.isPossible()) return null;
  return parsed.number.slice(1);
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
