import { z } from "zod";
import { normalizePhone } from "../domain/phone";
import { singleLine, Timestamp } from "./schemas";

// Requests and answers of the contact routes (contacts.routes.ts). Numbers are checked here (a
// bad one → 422 naming its index) and normalized to digits by the routes.

export const MAX_CHECK = 500;

export const CheckBody = z
  .object({
    phone_numbers: z
      .array(z.string().max(40))
      .min(1)
      .max(MAX_CHECK)
      .superRefine((list, ctx) => {
        list.forEach((n, i) => {
          if (!normalizePhone(n)) ctx.addIssue({ code: "custom", path: [i], message: "Not a valid phone number in international format." });
        });
      })
      .meta({ description: `1 to ${MAX_CHECK} phone numbers in international format. An invalid one refuses the whole request (422, its index in \`details\`).`, example: ["+14155552671", "+2290197000000"] }),
  })
  .meta({ example: { phone_numbers: ["+14155552671", "+2290197000000"] } });

export const SaveBody = z
  .object({ name: singleLine(z.string().trim().min(1).max(100)).meta({ description: "The name to save in the address book." }) })
  .meta({ example: { name: "Hana Sato" } });

export const ListContactsQuery = z.object({
  limit: z
    .string()
    .regex(/^\d{1,9}$/, "Decimal digits only.")
    .pipe(z.coerce.number<string>().int().min(1).max(500))
    .default(100)
    .meta({ type: "integer", minimum: 1, maximum: 500, default: 100 }),
  cursor: z.string().max(500).optional().meta({ description: "`next_cursor` of the previous page." }),
  search: singleLine(z.string().trim().min(1).max(100)).optional().meta({ description: "Only contacts whose name, push name, business name or number contains this text." }),
});

const Lid = z.string().nullable().meta({ description: "The person's LID (`…@lid`), when known.", example: "123456789012345@lid" });

const Checked = z.object({
  phone_number: z.string().meta({ example: "14155552671" }),
  on_whatsapp: z.boolean(),
  jid: z.string().nullable().meta({ description: "The number's WhatsApp id, when on WhatsApp.", example: "14155552671@s.whatsapp.net" }),
  lid: Lid,
});
export const CheckEnvelope = z.object({ success: z.literal(true), results: z.array(Checked) });

const ListedContact = z.object({
  phone_number: z.string().nullable().meta({ description: "Digits; null while only the LID is known.", example: "14155552671" }),
  lid: Lid,
  name: z.string().nullable().meta({ description: "The name saved in the address book." }),
  push_name: z.string().nullable().meta({ description: "The name the person set on WhatsApp." }),
  verified_name: z.string().nullable().meta({ description: "A business's verified name." }),
  updated_at: Timestamp,
});
export const ContactsEnvelope = z.object({ success: z.literal(true), contacts: z.array(ListedContact), next_cursor: z.string().nullable() });

const Profile = z.object({
  phone_number: z.string(),
  lid: Lid,
  on_whatsapp: z.literal(true),
  name: z.string().nullable(),
  push_name: z.string().nullable(),
  about: z.string().nullable().meta({ description: "The about text; null when none or hidden by their privacy settings." }),
  about_set_at: Timestamp.nullable(),
  picture_url: z.string().nullable().meta({ description: "Full-size profile picture URL; null when none or hidden by their privacy settings." }),
  business: z.boolean(),
  business_description: z.string().nullable(),
});
export const ProfileEnvelope = z.object({ success: z.literal(true), contact: Profile });

export const SavedEnvelope = z.object({ success: z.literal(true), contact: z.object({ phone_number: z.string(), lid: Lid, name: z.string() }) });

const Blocked = z.object({ phone_number: z.string().nullable(), lid: Lid });
export const BlockEnvelope = z.object({ success: z.literal(true), contact: Blocked.extend({ blocked: z.boolean() }) });
export const BlocklistEnvelope = z.object({ success: z.literal(true), blocked: z.array(Blocked) });
