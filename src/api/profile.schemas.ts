import { z } from "zod";
import { PRIVACY_FIELDS, type PrivacyField, type PrivacyValueOf, STATUS_PRIVACY_TYPES } from "../domain/privacy-settings";
import { singleLine } from "./schemas";

// Requests and answers of the profile and privacy routes (profile.routes.ts). Value lists per
// privacy setting: domain/privacy-settings.ts.

const HttpUrl = z
  .string()
  .max(2048)
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), "Must be an http or https URL.");

export const UpdateProfileBody = z
  .object({
    name: singleLine(z.string().trim().min(1).max(25)).optional().meta({ description: "The push name others see (WhatsApp allows 25 characters)." }),
    about: singleLine(z.string().max(139)).optional().meta({ description: "The about text (WhatsApp allows 139 characters); empty clears it." }),
    picture_url: HttpUrl.nullable()
      .optional()
      .meta({ description: "A JPEG the profile picture becomes (fetched like message media; square 640×640 is best); null removes the picture." }),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), "Give at least one field to change.")
  .meta({ example: { name: "Acme Support", about: "Replies within the hour" } });

const Profile = z.object({
  name: z.string().nullable().meta({ description: "The push name (null until WhatsApp gave one)." }),
  about: z.string().nullable().meta({ description: "The about text; null when none." }),
  picture_url: z.string().nullable().meta({ description: "A temporary URL of the profile picture on WhatsApp's media host; null when none." }),
  phone_number: z.string().nullable(),
});
export const ProfileEnvelope = z.object({ success: z.literal(true), profile: Profile });

const DESCRIPTIONS: Record<PrivacyField, string> = {
  last_seen: "Who sees when the account was last online.",
  online: "Who sees that it is online: everyone, or the same people as last seen.",
  profile_picture: "Who sees the profile picture.",
  about: "Who sees the about text.",
  read_receipts: "Whether read receipts are sent (and received).",
  groups_add: "Who can add the account to groups directly (the others send an invite).",
  calls: "Who can call: everyone, or only known contacts (others are silenced).",
  messages: "Who can message the account: everyone, or contacts only.",
};
const valueOf = <F extends PrivacyField>(f: F) =>
  z.enum(PRIVACY_FIELDS[f].values as readonly string[] as [PrivacyValueOf<F>, ...PrivacyValueOf<F>[]]).meta({ description: DESCRIPTIONS[f] });

export const UpdatePrivacyBody = z
  .object({
    last_seen: valueOf("last_seen").optional(),
    online: valueOf("online").optional(),
    profile_picture: valueOf("profile_picture").optional(),
    about: valueOf("about").optional(),
    read_receipts: valueOf("read_receipts").optional(),
    groups_add: valueOf("groups_add").optional(),
    calls: valueOf("calls").optional(),
    messages: valueOf("messages").optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), "Give at least one setting to change.")
  .meta({ example: { last_seen: "contacts", read_receipts: "none" } });

const Privacy = z.object({
  last_seen: valueOf("last_seen").nullable(),
  online: valueOf("online").nullable(),
  profile_picture: valueOf("profile_picture").nullable(),
  about: valueOf("about").nullable(),
  read_receipts: valueOf("read_receipts").nullable(),
  groups_add: valueOf("groups_add").nullable(),
  calls: valueOf("calls").nullable(),
  messages: valueOf("messages").nullable(),
});
export const PrivacyEnvelope = z.object({ success: z.literal(true), privacy: Privacy });

export const StatusPrivacyEnvelope = z.object({
  success: z.literal(true),
  status_privacy: z.object({
    type: z.enum(STATUS_PRIVACY_TYPES).meta({ description: "`contacts`: all contacts; `whitelist`: only those listed; `blacklist`: all contacts but those listed." }),
    contacts: z.array(z.string()).meta({ description: "The phone numbers listed (empty for `contacts`)." }),
  }),
});
