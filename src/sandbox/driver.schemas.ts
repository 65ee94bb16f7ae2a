import { z } from "zod";
import { PRIVACY_FIELDS, type PrivacyField, STATUS_PRIVACY_TYPES } from "../domain/privacy-settings";
import { singleLine } from "../domain/safe-input";
import { SandboxError } from "./errors";
import { FAULT_KINDS, type FaultKind } from "./faults";
import { MEDIA_TYPES } from "./content";

// What a driver may ask of the sandbox: one set of rules for both ways in (the HTTP routes use these
// as their body schemas; the object's RPC methods parse with the same ones). Where the routes and
// the world once disagreed, both limits now hold (e.g. a phone number: plain digits, 7-15 of them).

/** 7-15 digits in international format, an optional leading + and nothing else. */
export const PhoneNumber = z
  .string()
  .regex(/^\+?\d{7,15}$/, "Must be 7-15 digits in international format (an optional leading +, no spaces or punctuation).")
  .meta({ example: "15550001001" });

const ReceiptMode = z.enum(["auto", "manual"]);

export const ReceiptPolicyInput = z
  .object({
    delivered: ReceiptMode.optional(),
    read: ReceiptMode.optional(),
    delivered_delay_ms: z.number().int().min(0).max(600_000).optional(),
    read_delay_ms: z.number().int().min(0).max(600_000).optional(),
  })
  .meta({ id: "SandboxReceiptPolicy" });

export const CreatePhoneInput = z.object({
  phone_number: PhoneNumber.optional(),
  name: singleLine(z.string().trim().min(1).max(64)).optional(),
  receipt_policy: ReceiptPolicyInput.optional(),
  lid_addressed: z.boolean().optional().meta({ description: "WhatsApp addresses this phone's chats by LID (messages and receipts from its `…@lid`, its number beside it)." }),
  history: z
    .object({
      chats: z.number().int().min(1).max(200),
      messages_per_chat: z.number().int().min(1).max(500),
    })
    .refine((h) => h.chats * h.messages_per_chat <= 20_000, "At most 20000 messages in all.")
    .optional()
    .meta({ description: "Seeds the phone's inbox with chats of text messages (contacts outside the sandbox), synced to each device linked later." }),
});

const TextMessage = z.object({
  type: z.literal("text"),
  text: z.string().min(1).max(4096),
  quoted_id: z.string().optional(),
  mentions: z.array(PhoneNumber).max(50).optional(),
});
const MediaType = z.enum(MEDIA_TYPES);
const mediaFields = {
  mimetype: z.string().max(100).optional(),
  caption: z.string().max(1024).optional(),
  filename: z.string().max(200).optional(),
  ptt: z.boolean().optional(),
};
const MediaMessage = z.object({
  type: MediaType,
  base64: z.string().min(1).max(22_000_000).regex(/^[A-Za-z0-9+/=\s_-]*$/).meta({ description: "The file, base64 (up to ~16 MB)." }),
  ...mediaFields,
});
const LocationMessage = z.object({
  type: z.literal("location"),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  name: z.string().max(1000).optional(),
  address: z.string().max(1000).optional(),
});

/** What a simulated phone can send: text, a media file (base64), or a location. */
export const MessageContentInput = z.discriminatedUnion("type", [TextMessage, MediaMessage, LocationMessage]);
/**
 * Over RPC a media file may also come as bytes (a Uint8Array does not cross JSON). Bytes first:
 * given both, the bytes win (the base64 branch would strip them).
 */
export const MessageContentRpcInput = z.union([
  z.object({
    type: MediaType,
    bytes: z.custom<Uint8Array>((v) => v instanceof Uint8Array, {
      error: (issue) => (issue.input === undefined ? "A media message needs base64 (a string) or bytes (a Uint8Array)." : "Expected bytes (a Uint8Array)."),
    }),
    ...mediaFields,
  }),
  MessageContentInput,
]);

export const PhoneMessageInput = MessageContentInput.and(z.object({ to: PhoneNumber }));
export const PhoneMessageRpcInput = MessageContentRpcInput.and(z.object({ to: PhoneNumber }));
export const GroupSendInput = MessageContentInput.and(z.object({ from: PhoneNumber }));

export const GroupSpecInput = z.object({
  subject: singleLine(z.string().trim().min(1).max(100)),
  members: z.array(PhoneNumber).min(1).max(256),
  addressing_mode: z.enum(["pn", "lid"]).optional().meta({ description: "`lid`: WhatsApp addresses the group's members by LID (their numbers beside them); default `pn`." }),
});
export const CreateGroupInput = GroupSpecInput.extend({ owner: PhoneNumber });

/** A group id as WhatsApp writes it: digits (an old-style `creator-time` id has a dash) and `@g.us`. */
export const GroupJid = z.string().regex(/^\d+(-\d+)?@g\.us$/, "Must be a group id: digits followed by @g.us.").meta({ example: "120363000000000001@g.us" });

/** A phone asks to join by link: `https://chat.whatsapp.com/<code>`. */
export const JoinLinkInput = z.object({
  link: z.string().max(200).regex(/^https:\/\/chat\.whatsapp\.com\/[A-Za-z0-9]{1,64}$/, "Must be an invite link: https://chat.whatsapp.com/<code>."),
});
export const GroupParticipantsInput = z.object({ participants: z.array(PhoneNumber).min(1).max(256) });
export const GroupParticipantAction = z.enum(["add", "remove", "promote", "demote"]);
export const GroupRequestAction = z.enum(["approve", "reject"]);
/** What a member phone changes in a group; at least one field. `description: null` (or "") removes it. */
export const GroupPatchInput = z
  .object({
    subject: singleLine(z.string().trim().min(1).max(100)).optional(),
    description: z.string().max(2048).nullable().optional(),
    announce: z.boolean().optional(),
    locked: z.boolean().optional(),
    join_approval: z.boolean().optional(),
    member_add_mode: z.enum(["admin_add", "all_member_add"]).optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), "Give at least one field to change.");
export const InviteLinkInput = z.object({ reset: z.boolean().optional().meta({ description: "Revoke the current link and make a new one." }) });
/**
 * A phone's own settings: "who can add me to groups" (all, contacts: people it has chatted with,
 * none); whether WhatsApp addresses its chats by LID (docs/protocol/lids.md).
 */
export const PhonePatchInput = z
  .object({
    group_add_privacy: z.enum(["all", "contacts", "none"]).optional(),
    lid_addressed: z.boolean().optional().meta({ description: "WhatsApp addresses this phone's chats by LID: its messages and receipts reach linked devices from its `…@lid`, its number beside it." }),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), "Give at least one field to change.");

export const ReceiptsInput = z.object({ ids: z.array(z.string().min(1)).min(1).max(500), type: z.enum(["delivered", "read"]) });
/** Messages the phone received and asks for again, as if it could not decrypt them. */
export const RetryReceiptsInput = z.object({ ids: z.array(z.string().min(1).max(128)).min(1).max(100) });

export const ScanInput = z.object({ phone_number: PhoneNumber });
export const ClientScanInput = ScanInput.extend({ qr: z.string().min(1).max(2000) });

/** The code a session shows: 8 letters or digits, optionally with a dash in the middle. */
export const PairingCodeInput = z.object({ code: z.string().regex(/^[A-Za-z0-9-]{8,9}$/) });

export const FaultInput = z.object({
  kind: z.enum(FAULT_KINDS as [FaultKind, ...FaultKind[]]),
  ms: z.number().int().min(0).max(600_000).optional().meta({ description: "delay_acks: how long each ack is held; unacked_timeout: how long the client may leave a stanza unanswered (default 60000)." }),
  code: z
    .string()
    .max(16)
    .optional()
    .meta({
      description:
        "refuse_acks: the ack error code; stream_error: 500, 503, 515, replaced or device_removed; login_failure: the `<failure reason>` 402, 405, 406, 409, 500 or 503.",
    }),
  count: z
    .number()
    .int()
    .min(1)
    .max(100)
    .optional()
    .meta({
      description:
        "refuse_upgrade, http_error: how many upgrades in a row fail (default 2); stream_error, login_failure: how many logins in a row end with it (default 1); restart_loop: how many logins are answered 515 (default 100); lose_acks: how many of the client's next answers are lost (default 1).",
    }),
  expire: z.number().int().min(1).max(30 * 86_400).optional().meta({ description: "login_failure 402: seconds until the temporary ban ends (default 3600)." }),
  status: z.number().int().min(400).max(599).optional().meta({ description: "http_error: the HTTP status of the refused upgrade." }),
  ttl: z
    .number()
    .int()
    .min(1)
    .max(30 * 86_400)
    .optional()
    .meta({ description: "expire_media: seconds the media host's direct paths issued from now on stay valid (their `oe`), account-wide until the next `ttl`; 2592000 (30 days, the default) resets it. Without it every file stored so far expires at once." }),
});

export type CreatePhoneOptions = z.output<typeof CreatePhoneInput>;
export type PhonePatch = z.output<typeof PhonePatchInput>;
export type ReceiptPolicyPatch = z.output<typeof ReceiptPolicyInput>;
export type PhoneMessageContent = z.output<typeof MessageContentRpcInput>;
export type PhoneMessage = z.output<typeof PhoneMessageRpcInput>;
export type GroupSpec = z.output<typeof GroupSpecInput>;
export type GroupPatch = z.output<typeof GroupPatchInput>;
export type ReceiptsRequest = z.output<typeof ReceiptsInput>;
export type RetryReceiptsRequest = z.output<typeof RetryReceiptsInput>;
export type FaultRequest = z.output<typeof FaultInput>;

/** Parses driver input at the object's RPC boundary; a failure is a 422 naming the first offending field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = firstIssue(result.error.issues[0]);
  throw new SandboxError(`${issue.path.map(String).join(".") || "input"}: ${issue.message}`, 422);
}

type Issue = z.core.$ZodIssue;

/**
 * A union that matched no branch says only "Invalid input"; the first issue of its closest branch
 * says what is missing (e.g. `base64`). Paths inside a branch are relative to the union.
 */
function firstIssue(issue: Issue): { path: PropertyKey[]; message: string } {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue;
  const branch = issue.errors.reduce((best, errs) => (errs.length < best.length ? errs : best));
  const inner = branch[0];
  if (!inner) return issue;
  const nested = firstIssue(inner);
  return { path: [...issue.path, ...nested.path], message: nested.message };
}

// Presence (driver.presence.ts): a phone goes online/offline, types, records or pauses in a chat.
export const PhonePresenceInput = z.object({
  state: z.enum(["available", "unavailable"]).meta({ description: "The phone's own presence: online (`available`) or not." }),
});
export const PhoneChatStateInput = z.object({
  to: z
    .string()
    .regex(/^(\+?\d{7,15}|\d{1,30}@lid|\d+(-\d+)?@g\.us)$/, "Must be a phone number (7-15 digits), a LID (…@lid) or a group id (…@g.us).")
    .meta({ description: "The chat: a phone number (normally the linked account's), a LID or a group the phone is in.", example: "15550001001" }),
  state: z.enum(["typing", "recording", "paused"]),
});

// Contacts (driver.contacts.ts): another phone's profile as the session's account sees it, a
// phone's address book.
export const PhoneProfileInput = z
  .object({
    about: z.string().max(139).nullable().optional().meta({ description: "The about text (WhatsApp allows 139 characters); null clears it." }),
    business: z.boolean().optional().meta({ description: "A WhatsApp Business account." }),
    business_description: z.string().max(512).nullable().optional().meta({ description: "The business profile's description." }),
    picture: z
      .string()
      .max(1_400_000)
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, "Base64 only.")
      .nullable()
      .optional()
      .meta({ description: "The profile picture: a JPEG, base64 (up to about 1 MB); null removes it." }),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), "Give at least one field to change.");
export const AddressBookInput = z.object({
  name: z.string().trim().min(1).max(100).meta({ description: "The name the phone saved for the contact." }),
});
export type PhoneProfilePatch = z.output<typeof PhoneProfileInput>;

// Privacy (driver.privacy.ts): the phone changing its settings in its app.
const privacyValue = <F extends PrivacyField>(f: F) => z.enum(PRIVACY_FIELDS[f].values).optional();
const ExceptList = z.array(PhoneNumber).max(1000);
export const PhonePrivacyInput = z
  .object({
    last_seen: privacyValue("last_seen"),
    online: privacyValue("online"),
    profile_picture: privacyValue("profile_picture"),
    about: privacyValue("about"),
    read_receipts: privacyValue("read_receipts"),
    groups_add: privacyValue("groups_add"),
    calls: privacyValue("calls"),
    messages: privacyValue("messages"),
    except: z
      .object({ last_seen: ExceptList.optional(), profile_picture: ExceptList.optional(), about: ExceptList.optional(), groups_add: ExceptList.optional() })
      .optional()
      .meta({ description: "The people a `contact_blacklist` (\"my contacts except…\") leaves out, per field; replaces that field's list." }),
    status_privacy: z
      .object({ type: z.enum(STATUS_PRIVACY_TYPES), contacts: ExceptList.optional().meta({ description: "whitelist: the only people who see status updates; blacklist: the contacts who don't. Replaces that type's list." }) })
      .optional()
      .meta({ description: "Who sees the phone's status updates (stories)." }),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), "Give at least one field to change.");
export type PhonePrivacyPatch = z.output<typeof PhonePrivacyInput>;

// Chats (driver.chats.ts): the phone changes a chat's settings itself (an app-state patch of its own).
export const PHONE_CHAT_ACTIONS = ["archive", "unarchive", "pin", "unpin", "mute", "unmute", "clear", "read", "unread"] as const;
export const PhoneChatActionInput = z.object({
  chat: z
    .string()
    .regex(/^(\+?\d{6,15}|\d{1,30}@lid|[\d-]{1,60}@g\.us)$/, "A phone number, a LID (…@lid) or a group id (…@g.us).")
    .meta({ description: "The chat: a phone number, a LID or a group id.", example: "15550009999" }),
  action: z.enum(PHONE_CHAT_ACTIONS),
  until: z.iso.datetime({ offset: true }).optional().meta({ description: "mute: when the mute ends; omitted = forever." }),
});
