import { z } from "zod";
import { normalizePhone } from "../domain/phone";

// LID ↔ phone number routes: a LID given as `123…@lid` or its digits; a phone number in any usual format.

const LID_INPUT = /^(\d{1,30})(@lid)?$/;

export const LidParams = z.object({
  id: z.string().min(1).max(100).meta({ description: "The ID (uuid) or session_id string of the session." }),
  lid: z
    .string()
    .trim()
    .regex(LID_INPUT, "Not a LID: digits, optionally followed by @lid.")
    .transform((v) => `${v.match(LID_INPUT)![1]}@lid`)
    .meta({ description: "A LID (`…@lid`, or its digits).", example: "104763925495837@lid" }),
});

export const LidQuery = z.object({
  phone_number: z
    .string()
    .trim()
    .refine((v) => normalizePhone(v) !== null, "Not a valid phone number in international format.")
    .transform((v) => normalizePhone(v)!)
    .meta({ description: "A phone number in international format.", example: "14155552671" }),
});

export const LidEnvelope = z
  .object({
    success: z.literal(true),
    lid: z.string().meta({ description: "The LID (`…@lid`).", example: "104763925495837@lid" }),
    phone_number: z.string().meta({ description: "The phone number (digits, international format).", example: "14155552671" }),
  })
  .meta({ id: "LidMapping" });
