// Contract between the send queue consumer (src/queues/send.queue.ts) and the session
// object's outbox (src/session/outbox.ts). Plain JSON: it crosses RPC.

export const MESSAGE_TYPES = [
  "text",
  "image",
  "video",
  "audio",
  "document",
  "location",
  "contacts",
  "sticker",
  "poll",
  "reaction",
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export interface OutboxItem {
  /** messages.id in D1; the outbox ignores an id it already holds (queue redelivery). */
  messageId: string;
  accountId: string;
  /** Recipient, digits only ("22997000000"). */
  to: string;
  type: MessageType;
  /** Text body, or the caption of a media message. */
  content: string | null;
  mediaUrl: string | null;
  /**
   * Type-specific fields, as validated by the API: filename, mimetype, ptt (audio),
   * latitude/longitude/name/address (location), contacts[] (vCard fields), poll {name,
   * options, selectable_count}, reaction {message_id, emoji}, reply_to (message id),
   * mentions (digits[]).
   */
  payload: Record<string, unknown> | null;
  campaignId: string | null;
  /** Pause after this message before the next one of the same session. */
  delayBetweenMs: number;
  /** Epoch ms; held (status `scheduled`) until then. */
  scheduledAt: number | null;
}
