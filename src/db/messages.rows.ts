import type { campaigns, messages } from "./schema";

// What every messages.* module shares: the row types, the pending states, id chunking and the
// mapping of a raw D1 row (RETURNING *) to a typed one.

// D1 binds at most 100 parameters per statement; id lists are read in chunks below that.
const IDS_PER_QUERY = 90;

export function chunks<T>(items: T[], size = IDS_PER_QUERY): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A message as the code builds and reads it; `chatKey` is computed by D1 and read only by the chat list. */
export type MessageRow = Omit<typeof messages.$inferSelect, "chatKey">;
export type CampaignRow = typeof campaigns.$inferSelect;
export type MessageStatus = MessageRow["status"];

/** Accepted but not yet handed to WhatsApp: the only states a message may fail or be sent from. */
export const PENDING_STATUSES = ["queued", "scheduled"] as const;

/** The group a received message came in (its payload's chat, a group's), else null. */
export function receivedGroupOf(m: Pick<MessageRow, "direction" | "payload">): string | null {
  if (m.direction === "outgoing" || m.payload?.chat_type !== "group") return null;
  return typeof m.payload.chat_id === "string" ? m.payload.chat_id : null;
}

/**
 * The chat a message is in: an outgoing one's recipient (a number or a group id); a received
 * one's group, else its sender's number, else (a sender known only by LID) the JID it came on.
 */
export function chatOfMessage(m: Pick<MessageRow, "direction" | "payload" | "toNumber" | "fromNumber">): string | null {
  if (m.direction === "outgoing") return m.toNumber;
  const chat = typeof m.payload?.chat_id === "string" ? m.payload.chat_id : null;
  return receivedGroupOf(m) ?? m.fromNumber ?? chat;
}

/** A raw D1 row (`RETURNING *`) as drizzle would have typed it. */
export function fromSql(r: Record<string, unknown>): MessageRow {
  const json = (v: unknown) => (typeof v === "string" ? (JSON.parse(v) as Record<string, unknown>) : null);
  return {
    id: r.id as string,
    accountId: r.account_id as string,
    whatsappSessionId: r.whatsapp_session_id as string,
    campaignId: (r.campaign_id as string) ?? null,
    otpId: (r.otp_id as string) ?? null,
    providerMessageId: (r.provider_message_id as string) ?? null,
    fromNumber: (r.from_number as string) ?? null,
    toNumber: r.to_number as string,
    type: r.type as string,
    content: (r.content as string) ?? null,
    mediaUrl: (r.media_url as string) ?? null,
    payload: json(r.payload),
    status: r.status as MessageStatus,
    direction: r.direction as MessageRow["direction"],
    reason: (r.reason as string) ?? null,
    cost: r.cost as number,
    metadata: json(r.metadata),
    idempotencyKey: (r.idempotency_key as string) ?? null,
    callbackUrl: (r.callback_url as string) ?? null,
    callbackData: (r.callback_data as string) ?? null,
    scheduledAt: (r.scheduled_at as string) ?? null,
    sentAt: (r.sent_at as string) ?? null,
    deliveredAt: (r.delivered_at as string) ?? null,
    readAt: (r.read_at as string) ?? null,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    fromLid: (r.from_lid as string) ?? null,
    chatLid: (r.chat_lid as string) ?? null,
  };
}
