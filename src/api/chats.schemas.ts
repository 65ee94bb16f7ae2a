import { z } from "zod";
import { MessageSchema } from "./messages.schemas";
import { IsoDateTime, Timestamp, queryInt } from "./schemas";

// The chat routes' query, bodies and answers (chats.routes.ts).

export const ListChatsQuery = z.object({
  archived: z.enum(["true", "false"]).optional().meta({ description: "Only archived (`true`) or only unarchived (`false`) chats." }),
  type: z.enum(["individual", "group"]).optional().meta({ description: "Only chats with one person, or only groups." }),
  limit: queryInt(1, 100, 20),
  cursor: z.string().max(500).optional().meta({ description: "next_cursor of the previous page" }),
});

export const PageQuery = z.object({
  limit: queryInt(1, 100, 20),
  cursor: z.string().max(500).optional().meta({ description: "next_cursor of the previous page" }),
});

export const MuteBody = z.object({
  until: IsoDateTime.optional()
    .refine((v) => v === undefined || Date.parse(v) > Date.now(), "Must be in the future.")
    .meta({ description: "When the mute ends (ISO 8601). Omitted: muted forever." }),
});

export const ReadBody = z.object({
  message_ids: z
    .array(z.uuid())
    .min(1)
    .max(100)
    .optional()
    .meta({ description: "Gateway ids of received messages of this chat. Omitted: every unread received message of the chat." }),
  status: z.enum(["read", "played"]).default("read").meta({ description: "`played`: received voice notes (audio) were listened to (implies read); without `message_ids`, the chat's unread audio messages." }),
});

export const LastMessage = z.object({
  id: z.string().meta({ description: "The gateway message id." }),
  type: z.string(),
  direction: z.enum(["incoming", "outgoing"]),
  preview: z.string().nullable().meta({ description: "The text, or a media caption; null when the message has none." }),
  at: Timestamp,
});

export const ChatSchema = z.object({
  chat_id: z.string().meta({ description: "The phone number (digits) or the group id (`…@g.us`).", example: "14155552671" }),
  type: z.enum(["individual", "group"]),
  name: z.string().nullable().meta({ description: "The saved contact name, WhatsApp name or group subject, when known." }),
  last_message: LastMessage.nullable().meta({ description: "The newest message kept in the gateway (after a clear); null when none." }),
  unread_count: z.number().int().meta({ description: "Received messages not marked read." }),
  archived: z.boolean(),
  pinned: z.boolean(),
  pinned_at: Timestamp.nullable(),
  muted: z.boolean(),
  muted_until: Timestamp.nullable().meta({ description: "When the mute ends; null when not muted or muted forever (`muted: true`)." }),
  cleared_at: Timestamp.nullable().meta({ description: "When the history was cleared; older messages are hidden." }),
});

export const ChatsEnvelope = z.object({
  success: z.literal(true),
  data: z.array(ChatSchema),
  meta: z.object({ count: z.number().int(), limit: z.number().int(), next_cursor: z.string().nullable() }),
});

export const ChatEnvelope = z.object({ success: z.literal(true), data: ChatSchema });

export const ChatMessagesEnvelope = z.object({
  success: z.literal(true),
  data: z.array(MessageSchema),
  meta: z.object({ count: z.number().int(), limit: z.number().int(), next_cursor: z.string().nullable() }),
});

export const ReadEnvelope = z.object({
  success: z.literal(true),
  data: z.object({ chat_id: z.string(), status: z.enum(["read", "played"]), marked: z.number().int().meta({ description: "Messages the receipts were sent for." }) }),
});
