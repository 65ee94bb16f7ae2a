import { z } from "zod";
import { CONTACT_PHONE_TYPES, HOME_WORK, LIMITS, MESSAGE_TYPES, typeRuleIssues, type MessageFields } from "../domain/message-types";
import { isGroupId, normalizePhone, normalizeRecipient } from "../domain/phone";
import { IsoDateTime, SafeKey, Timestamp, queryInt, singleLine } from "./schemas";

export const MESSAGE_STATUSES = ["queued", "sent", "delivered", "read", "failed", "scheduled"] as const;
export const DIRECTIONS = ["incoming", "outgoing"] as const;

const HttpUrl = z
  .string()
  .max(LIMITS.url)
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), "Must be an http or https URL.");

const short = (max: number = LIMITS.contactField) => z.string().trim().min(1).max(max);

const ContactSchema = z.object({
  name: z.object({
    formatted_name: short(),
    first_name: short().optional(),
    last_name: short().optional(),
    middle_name: short().optional(),
    suffix: short().optional(),
    prefix: short().optional(),
  }),
  addresses: z
    .array(
      z.object({
        street: short().optional(),
        city: short().optional(),
        state: short().optional(),
        zip: short(32).optional(),
        country: short().optional(),
        country_code: z.string().regex(/^[A-Za-z]{2}$/, "Two-letter country code.").optional(),
        type: z.enum(HOME_WORK).optional(),
      }),
    )
    .max(10)
    .optional(),
  birthday: z.iso.date().optional().meta({ description: "YYYY-MM-DD" }),
  emails: z.array(z.object({ email: z.email().max(LIMITS.contactField).optional(), type: z.enum(HOME_WORK).optional() })).max(10).optional(),
  org: z.object({ company: short().optional(), department: short().optional(), title: short().optional() }).optional(),
  phones: z
    .array(
      z.object({
        phone: z.string().trim().regex(/^\+?[\d\s().-]{3,32}$/, "A phone number.").optional(),
        type: z.enum(CONTACT_PHONE_TYPES).optional(),
        wa_id: z.string().regex(/^\d{5,20}$/, "Digits only.").optional(),
      }),
    )
    .max(10)
    .optional(),
  urls: z.array(z.object({ url: HttpUrl.optional(), type: z.enum(HOME_WORK).optional() })).max(10).optional(),
});

/** One outgoing message as POST /v1/whatsapp/messages takes it (the primary REST shape plus the fields of each type). */
export const SendMessageBody = z
  .object({
    whatsapp_session_id: z.string().min(1).max(100).meta({ description: "The ID (uuid) or session_id string of a connected session." }),
    to_number: z
      .array(z.string().max(40))
      .min(1)
      .max(LIMITS.recipients)
      .meta({
        description: "Recipients: phone numbers in international format, or group ids (`120363…@g.us`, a group the session is in); one message row (and one charge) per distinct recipient, a group counting as one.",
        example: ["2290196000001"],
      }),
    type: z.enum(MESSAGE_TYPES),
    content: z.string().max(LIMITS.text).nullish().meta({ description: "Text body (text, max 4096) or caption (image, video, document; max 1024)." }),
    media_url: HttpUrl.nullish().meta({ description: "Public http(s) URL of the media; fetched and checked at accept time." }),
    delay_between: z.number().int().min(0).max(LIMITS.delayBetweenMs).default(500).meta({ description: "Milliseconds between consecutive sends of this session." }),
    scheduled_at: IsoDateTime.nullish().meta({ description: "ISO 8601; held as `scheduled` until then." }),
    callback_url: HttpUrl.nullish().meta({ description: "Receives this message's status changes." }),
    callback_data: z.string().max(LIMITS.callbackData).nullish().meta({ description: "Echoed in each status callback." }),
    filename: singleLine(z.string().trim().min(1).max(LIMITS.filename)).optional().meta({ description: "document: the name shown (1-100 chars)." }),
    ptt: z.boolean().optional().meta({ description: "audio: true sends a voice note." }),
    location: z
      .object({
        latitude: z.number().min(-90).max(90),
        longitude: z.number().min(-180).max(180),
        name: z.string().max(LIMITS.locationText).optional(),
        address: z.string().max(LIMITS.locationText).optional(),
      })
      .optional(),
    contacts: z.array(ContactSchema).min(1).max(LIMITS.contacts).optional(),
    poll: z
      .object({
        name: z.string().trim().min(1).max(LIMITS.pollName),
        options: z.array(z.string().trim().min(1).max(LIMITS.pollOption)).min(LIMITS.pollOptions.min).max(LIMITS.pollOptions.max),
        selectable_count: z.number().int().min(1).default(1),
      })
      .optional(),
    reaction: z
      .object({ message_id: z.uuid().meta({ description: "The message (ours, sent or received) to react to." }), emoji: z.string().max(32) })
      .optional(),
    reply_to: z.uuid().optional().meta({ description: "Quote this message (ours, sent or received, same session)." }),
    mentions: z.array(z.string().max(40)).max(LIMITS.mentions).optional().meta({ description: "Numbers to @mention." }),
    mention_all: z.boolean().optional().meta({ description: "Groups only: @mention every participant (but the session itself)." }),
  })
  .superRefine((m, ctx) => {
    m.to_number.forEach((n, i) => {
      if (!normalizeRecipient(n)) ctx.addIssue({ code: "custom", path: ["to_number", i], message: "Not a valid phone number in international format, nor a group id (…@g.us)." });
    });
    if (m.mention_all && !m.to_number.every((n) => isGroupId(n.trim()))) {
      ctx.addIssue({ code: "custom", path: ["mention_all"], message: "mention_all is for groups: every to_number must be a group id (…@g.us)." });
    }
    m.mentions?.forEach((n, i) => {
      if (!normalizePhone(n)) ctx.addIssue({ code: "custom", path: ["mentions", i], message: "Not a valid phone number in international format." });
    });
    if (m.type === "reaction" && m.to_number.length !== 1) {
      ctx.addIssue({ code: "custom", path: ["to_number"], message: "A reaction goes to exactly one chat." });
    }
    if (m.scheduled_at && Date.parse(m.scheduled_at) > Date.now() + LIMITS.scheduleAheadDays * 86_400_000) {
      ctx.addIssue({ code: "custom", path: ["scheduled_at"], message: `At most ${LIMITS.scheduleAheadDays} days ahead.` });
    }
    for (const issue of typeRuleIssues(m as MessageFields)) {
      ctx.addIssue({ code: "custom", path: issue.field.split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p)), message: issue.message });
    }
  })
  .meta({
    id: "SendMessage",
    example: { whatsapp_session_id: "a3f1b2c4-1234-4abc-9def-000011112222", to_number: ["2290196000001"], type: "text", content: "Hello from Our Voice!" },
  });
export type SendMessage = z.output<typeof SendMessageBody>;

export const BatchBody = z.object({
  messages: z
    .array(z.record(SafeKey, z.unknown()).meta({ description: "A message object as POST /v1/whatsapp/messages takes it; each is validated on its own." }))
    .min(1)
    .max(100),
}).meta({
  example: {
    messages: [
      {
        whatsapp_session_id: "a3f1b2c4-1234-4abc-9def-000011112222",
        to_number: ["2290196000001"],
        type: "text",
        content: "Your order has shipped.",
        callback_url: "https://example.com/whatsapp/status",
        callback_data: "order-1042",
      },
      {
        whatsapp_session_id: "a3f1b2c4-1234-4abc-9def-000011112222",
        to_number: ["2290196000001", "2290161000002"],
        type: "image",
        media_url: "https://example.com/image.jpg",
        content: "Check out this photo!",
        delay_between: 1000,
      },
    ],
  },
});

export const MessageSchema = z
  .object({
    id: z.uuid(),
    whatsapp_session_id: z.string(),
    campaign_id: z.string().nullable(),
    otp_id: z.string().nullable(),
    provider_message_id: z.string().nullable(),
    from_number: z.string().nullable().meta({ description: "A received message's sender as a phone number; null when WhatsApp told only its LID (see `from_lid`). Never a LID." }),
    to_number: z.string(),
    from_lid: z.string().nullable().meta({ description: "A received message's sender by LID (`…@lid`), when WhatsApp told it (the chat addressed by LID, or the LID beside the number); null otherwise." }),
    chat_lid: z.string().nullable().meta({ description: "A received message's 1:1 chat by LID (`…@lid`), when WhatsApp told it; null otherwise and for groups." }),
    type: z.enum(MESSAGE_TYPES),
    content: z.string().nullable(),
    media_url: z.string().nullable(),
    status: z.enum(MESSAGE_STATUSES),
    direction: z.enum(DIRECTIONS),
    reason: z.string().nullable(),
    cost: z.number(),
    payload: z.record(z.string(), z.unknown()).nullable().meta({ description: "Type-specific fields (filename, ptt, location, contacts, poll, reaction, reply_to, mentions, media)." }),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    callback_url: z.string().nullable(),
    callback_data: z.string().nullable(),
    scheduled_at: Timestamp.nullable(),
    sent_at: Timestamp.nullable(),
    delivered_at: Timestamp.nullable(),
    read_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: "Message" });

export const SendResponse = z.object({
  success: z.literal(true),
  message: z.literal("Message queued for sending"),
  data: z.object({
    messages: z.array(MessageSchema),
    count: z.number().int(),
    total_cost: z.number(),
    new_balance: z.number(),
    remaining_messages: z.number().int().nullable(),
    campaign_id: z.uuid(),
  }),
});

const Reason = z.object({ field: z.string().optional(), code: z.string().optional(), message: z.string() });
export const BatchResponse = z.object({
  success: z.literal(true),
  data: z.object({
    results: z.array(
      z.union([
        z.object({ index: z.number().int(), status: z.literal("OK"), id: z.uuid(), message_ids: z.array(z.uuid()), campaign_id: z.uuid() }),
        z.object({ index: z.number().int(), status: z.literal("REJECTED"), reasons: z.array(Reason) }),
      ]),
    ),
    accepted: z.number().int(),
    rejected: z.number().int(),
    count: z.number().int().meta({ description: "Message rows created (one per recipient)." }),
    total_cost: z.number(),
    new_balance: z.number(),
    remaining_messages: z.number().int().nullable(),
  }),
});

/** Most values of one list filter (each becomes a bound SQL parameter; D1 allows 100 per statement). */
export const MAX_FILTER_VALUES = 50;
// One value (filter[to_number]=x) reads as a list of one.
const PhoneList = z.preprocess(
  (value) => (typeof value === "string" ? [value] : value),
  z.array(z.string().max(40)).max(MAX_FILTER_VALUES, `At most ${MAX_FILTER_VALUES} values.`),
);
export const ListMessagesQuery = z.object({
  filter: z
    .object({
      to_number: PhoneList.optional().meta({ description: `filter[to_number][]=... (one or more, at most ${MAX_FILTER_VALUES})` }),
      from_number: z.string().optional(),
      status: z.enum(MESSAGE_STATUSES).optional(),
      direction: z.enum(DIRECTIONS).optional(),
      type: z.enum(MESSAGE_TYPES).optional(),
      campaign_id: z.uuid().optional(),
    })
    .optional(),
  session_id: z.string().min(1).max(100).optional().meta({ description: "uuid or session_id string" }),
  time_from: IsoDateTime.optional(),
  time_to: IsoDateTime.optional(),
  limit: queryInt(1, 100, 10),
  cursor: z.string().max(500).optional().meta({ description: "next_cursor of the previous page" }),
});
export type ListMessagesQueryT = z.output<typeof ListMessagesQuery>;

export const ListMessagesResponse = z.object({
  success: z.literal(true),
  data: z.array(MessageSchema),
  meta: z.object({ count: z.number().int(), limit: z.number().int(), next_cursor: z.string().nullable() }),
});

export const CampaignSchema = z
  .object({
    id: z.uuid(),
    whatsapp_session_id: z.string(),
    type: z.enum(MESSAGE_TYPES),
    total: z.number().int(),
    delay_between: z.number().int(),
    scheduled_at: Timestamp.nullable(),
    counts: z.record(z.enum(MESSAGE_STATUSES), z.number().int()),
    progress: z.object({ done: z.number().int(), percent: z.number() }).meta({ description: "done = sent + delivered + read + failed" }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: "Campaign" });
