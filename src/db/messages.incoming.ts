import { eq, sql } from "drizzle-orm";
import { now } from "../domain/time";
import type { Db } from "./client";
import { fromSql, type MessageRow } from "./messages.rows";
import { messages } from "./schema";

// Received messages: stored once each, and what the auto-reply bot did about them.

export interface IncomingMessageInput {
  accountId: string;
  whatsappSessionId: string;
  providerMessageId: string;
  fromNumber: string | null;
  toNumber: string;
  /** The sender and the 1:1 chat by LID (`…@lid`), when WhatsApp addressed them so. */
  fromLid?: string | null;
  chatLid?: string | null;
  type: string;
  content: string | null;
  mediaUrl?: string | null;
  payload?: Record<string, unknown> | null;
  metadata?: Record<string, unknown> | null;
  /** When WhatsApp says it was sent. */
  receivedAtIso: string;
}

/** Stores a received message once per (session, provider id); null when already stored. */
export async function insertIncomingMessage(db: Db, input: IncomingMessageInput): Promise<MessageRow | null> {
  const at = now();
  const row = await db.$client
    .prepare(
      `INSERT INTO messages (id, account_id, whatsapp_session_id, provider_message_id, from_number, to_number, type, content, media_url,
         payload, metadata, status, direction, cost, sent_at, delivered_at, created_at, updated_at, from_lid, chat_lid)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'delivered', 'incoming', 0, ?, ?, ?, ?, ?, ?
       WHERE NOT EXISTS (SELECT 1 FROM messages WHERE whatsapp_session_id = ? AND provider_message_id = ? AND direction = 'incoming')
       RETURNING *`,
    )
    .bind(
      crypto.randomUUID(), input.accountId, input.whatsappSessionId, input.providerMessageId, input.fromNumber, input.toNumber,
      input.type, input.content, input.mediaUrl ?? null, input.payload ? JSON.stringify(input.payload) : null,
      input.metadata ? JSON.stringify(input.metadata) : null, input.receivedAtIso, at, at, at, input.fromLid ?? null, input.chatLid ?? null, input.whatsappSessionId, input.providerMessageId,
    )
    .first<Record<string, unknown>>();
  return row ? fromSql(row) : null;
}

/** Records on an incoming message what the auto-reply bot did about it (metadata.bot). */
export async function markBotOutcome(db: Db, id: string, outcome: Record<string, unknown>): Promise<void> {
  await db
    .update(messages)
    .set({ metadata: sql`json_set(coalesce(${messages.metadata}, '{}'), '$.bot', json(${JSON.stringify(outcome)}))`, updatedAt: now() })
    .where(eq(messages.id, id));
}
