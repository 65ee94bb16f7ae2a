import type { MessageRow } from "../db/messages.rows";
import { chatJid } from "../domain/phone";
import type { WebhookEventType } from "../domain/webhook-events";
import { log } from "../platform/log";
import { emitEvent, type EmitEnv } from "./emit";

// Every `message.*` event, whoever raises it (the session object, the dead-letter consumer),
// has the same body and the same id for the same message and status.

export function messageEventId(messageId: string, type: WebhookEventType): string {
  // Stable per message and status: a repeated receipt or a second pass yields the same webhook-id.
  return `msg_${messageId.replace(/-/g, "")}_${type.split(".")[1]}`;
}

export function messageEventData(row: MessageRow): Record<string, unknown> {
  const outgoing = row.direction === "outgoing";
  const peer = (outgoing ? row.toNumber : row.fromNumber) ?? "";
  return {
    id: row.id,
    provider_message_id: row.providerMessageId,
    chat_id: chatJid(peer),
    chat_type: peer.endsWith("@g.us") ? "group" : "contact",
    from_me: outgoing,
    direction: row.direction,
    type: row.type,
    from_number: row.fromNumber,
    to_number: row.toNumber,
    // The sender and chat by LID (received messages WhatsApp addressed by LID); numbers stay numbers.
    from_lid: row.fromLid ?? null,
    chat_lid: row.chatLid ?? null,
    content: row.content,
    status: row.status,
    reason: row.reason,
    campaign_id: row.campaignId,
    sent_at: row.sentAt,
    delivered_at: row.deliveredAt,
    read_at: row.readAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    // Who the message @mentions (phone numbers), for the webhooks' `mentions` filter.
    ...(Array.isArray(row.payload?.mentions) ? { mentions: row.payload.mentions } : {}),
  };
}

/**
 * Emits a message event to webhooks and the message's own callback URL. Never throws: the
 * message's state is already recorded, and a lost notification must not undo it.
 */
export async function emitMessageEvent(
  env: EmitEnv,
  type: WebhookEventType,
  row: MessageRow,
  extra: Record<string, unknown> = {},
): Promise<void> {
  // Bot replies with the send_webhook action off raise no events (see src/domain/bot.ts).
  if (row.metadata?.bot === true && row.metadata.webhook === false) return;
  try {
    await emitEvent(env, {
      accountId: row.accountId,
      sessionId: row.whatsappSessionId,
      type,
      eventId: messageEventId(row.id, type),
      data: { ...messageEventData(row), ...extra },
      callback: row.callbackUrl ? { url: row.callbackUrl, data: row.callbackData } : null,
    });
  } catch (err) {
    log.error({ type, message: row.id, err }, "could not emit message event");
  }
}
