import { asc, eq } from "drizzle-orm";
import { isGroupId } from "../domain/phone";
import type { Db } from "./client";
import type { MessageRow } from "./messages.rows";
import { messageReceipts } from "./schema";

// Each recipient's delivery and read of an outgoing message. The session object journals them
// per participant (status-journal.ts) and its status flush writes them here in batches, many
// receipts per statement; GET /v1/whatsapp/messages/{id}/receipts reads them.

/**
 * One participant's receipt as the object journaled it. `participant`: their number's digits,
 * or "<user>@lid" when WhatsApp named them by LID and no number is known. `at`: the receipt's time (ISO).
 */
export interface ParticipantReceipt {
  messageId: string;
  participant: string;
  kind: "delivered" | "read";
  at: string;
}

export interface ReceiptView {
  phone_number: string | null;
  lid: string | null;
  delivered_at: string | null;
  read_at: string | null;
}

// Receipts per statement: each is about 150 bytes of JSON, far under D1's statement size limit.
export const RECEIPTS_PER_STATEMENT = 200;

// The first time of each kind stays (a second device's receipt changes nothing); a read
// without a delivery counts as delivered then. Safe to repeat.
const UPSERT_SQL = `INSERT INTO message_receipts (message_id, participant, delivered_at, read_at)
  SELECT json_extract(value, '$.m'), json_extract(value, '$.p'), json_extract(value, '$.at'),
    CASE json_extract(value, '$.k') WHEN 'read' THEN json_extract(value, '$.at') END
  FROM json_each(?1) WHERE true
  ON CONFLICT (message_id, participant) DO UPDATE SET
    delivered_at = coalesce(message_receipts.delivered_at, excluded.delivered_at),
    read_at = coalesce(message_receipts.read_at, excluded.read_at)`;

/** The statements writing these receipts (in order, so a delivered precedes its read). */
export function receiptStatements(d1: D1Database, receipts: ParticipantReceipt[]): D1PreparedStatement[] {
  const out: D1PreparedStatement[] = [];
  for (let i = 0; i < receipts.length; i += RECEIPTS_PER_STATEMENT) {
    const part = receipts.slice(i, i + RECEIPTS_PER_STATEMENT).map((r) => ({ m: r.messageId, p: r.participant, k: r.kind, at: r.at }));
    out.push(d1.prepare(UPSERT_SQL).bind(JSON.stringify(part)));
  }
  return out;
}

/**
 * The receipts of an outgoing message (the caller found it in the account): a group message's
 * participants that answered, in the order they did; a 1:1 message's one recipient, from the row.
 */
export async function receiptsOf(db: Db, message: MessageRow): Promise<ReceiptView[]> {
  if (message.direction !== "outgoing") return [];
  if (!isGroupId(message.toNumber)) {
    return [{ phone_number: message.toNumber, lid: null, delivered_at: message.deliveredAt, read_at: message.readAt }];
  }
  // Every row has delivered_at (a read without a delivery sets both): the order they came.
  const rows = await db
    .select()
    .from(messageReceipts)
    .where(eq(messageReceipts.messageId, message.id))
    .orderBy(asc(messageReceipts.deliveredAt), asc(messageReceipts.participant))
    .all();
  return rows.map((r) => {
    const lid = r.participant.endsWith("@lid") ? r.participant : null;
    return { phone_number: lid ? null : r.participant, lid, delivered_at: r.deliveredAt, read_at: r.readAt };
  });
}
