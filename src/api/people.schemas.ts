import { z } from "zod";
import { normalizePhone, normalizeRecipient } from "../domain/phone";

// Path parameters shared by the people-and-chats routes (contacts, chats, presence, LIDs).

export const LID_PATTERN = /^\d{1,30}@lid$/;

/** A chat: a phone number (any usual format), a group id (…@g.us) or a LID (…@lid). */
export const ChatIdParams = z.object({
  id: z.string().min(1).max(100).meta({ description: "The ID (uuid) or session_id string of the session." }),
  chat_id: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .refine((v) => LID_PATTERN.test(v) || normalizeRecipient(v) !== null, "Not a chat id: a phone number in international format, a group id (…@g.us) or a LID (…@lid).")
    .meta({ description: "The chat: a phone number in international format, a group id (`…@g.us`) or a LID (`…@lid`).", example: "14155552671" }),
});

/** A chat id as WhatsApp addresses it: `<digits>@s.whatsapp.net`, the group id, or the LID. */
export function chatJidOf(chatId: string): string {
  const v = chatId.trim();
  if (LID_PATTERN.test(v)) return v;
  const r = normalizeRecipient(v)!;
  return r.includes("@") ? r : `${r}@s.whatsapp.net`;
}

export const PhoneNumberParams = z.object({
  id: z.string().min(1).max(100).meta({ description: "The ID (uuid) or session_id string of the session." }),
  phone_number: z
    .string()
    .trim()
    .refine((v) => normalizePhone(v) !== null, "Not a valid phone number in international format.")
    .meta({ description: "A phone number in international format.", example: "14155552671" }),
});
