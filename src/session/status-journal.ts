import type { MessageChange } from "../events/message-batch";
import type { StatusKind } from "../db/messages.flush";
import type { ParticipantReceipt } from "../db/messages.receipts";

// Status changes of sent messages (the server's ack, delivery and read receipts), written to
// the object's own SQLite the moment they happen, then flushed to D1 in batches by
// status-flush.ts. Until D1 has a change, this table is its only record: it survives a crash,
// and the next wake flushes it. A repeated ack or receipt, or one below the status already
// journaled, adds nothing.

export interface JournalEntry {
  seq: number;
  change: MessageChange;
}

/** A group participant's receipt (receipt_journal), flushed to D1's message_receipts. */
export interface ReceiptEntry {
  seq: number;
  receipt: ParticipantReceipt;
}

/** A message of this outbox the server acked (epoch ms `ackedAt`). */
export interface AckedMessage {
  messageId: string;
  to: string;
  type: string;
  ackedAt: number;
}

type Row = { seq: number; message_id: string; kind: StatusKind; wa_id: string; at: string; chat: string; msg_type: string };

// Flushed receipts are known this long: as long as the outbox keeps a finished message (outbox.ts).
const RECEIPTS_KEPT_MS = 7 * 24 * 60 * 60_000;

const RANK = (kind: string) => `(CASE ${kind} WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 ELSE 0 END)`;

export class StatusJournal {
  /** Rows held, counted once per wake then kept in step (size() is asked per change). */
  private count: number | undefined;
  private receiptCount: number | undefined;

  /** Over the session object's SQLite, once its schema ran (session.schema.ts). */
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Journals a change unless the message already reached that status or a later one (a second
   * device's receipt, a delivered after a read); the highest lives on its outbox row, kept a
   * week. Returns whether it was journaled.
   */
  record(change: MessageChange): boolean {
    const raised = this.sql
      .exec(
        `UPDATE outbox SET status_kind = ?1 WHERE message_id = ?2 AND ${RANK("coalesce(status_kind, '')")} < ${RANK("?1")} RETURNING 1`,
        change.kind,
        change.messageId,
      )
      .toArray().length;
    // A `sent` is journaled whatever its outbox row says (the ack is the send's own record).
    if (raised === 0 && change.kind !== "sent") return false;
    const added = this.sql.exec(
      "INSERT INTO status_journal (message_id, kind, wa_id, at, chat, msg_type) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(message_id, kind) DO NOTHING RETURNING seq",
      change.messageId,
      change.kind,
      change.waId,
      change.at,
      change.to,
      change.type,
    ).toArray().length;
    if (this.count !== undefined) this.count += added;
    return true;
  }

  /** The oldest `limit` changes, in the order they happened. */
  take(limit: number): JournalEntry[] {
    return this.sql
      .exec<Row>("SELECT seq, message_id, kind, wa_id, at, chat, msg_type FROM status_journal ORDER BY seq LIMIT ?", limit)
      .toArray()
      .map((r) => ({ seq: r.seq, change: { messageId: r.message_id, kind: r.kind, waId: r.wa_id, at: r.at, to: r.chat, type: r.msg_type } }));
  }

  /** D1 has these. */
  remove(entries: JournalEntry[]): void {
    if (entries.length === 0) return;
    const removed = this.sql.exec("DELETE FROM status_journal WHERE seq IN (SELECT value FROM json_each(?)) RETURNING seq", JSON.stringify(entries.map((e) => e.seq))).toArray().length;
    if (this.count !== undefined) this.count -= removed;
  }

  /** Status changes and participant receipts waiting for D1. */
  size(): number {
    this.count ??= this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM status_journal").one().n;
    return this.count + this.receiptsSize();
  }

  /** The storage was erased: count again. */
  forget(): void {
    this.count = undefined;
    this.receiptCount = undefined;
  }

  /**
   * Journals one participant's receipt; a repeat (another device of theirs), even after its
   * flush, adds nothing. Returns whether it was added.
   */
  recordReceipt(receipt: ParticipantReceipt): boolean {
    const added = this.sql
      .exec(
        "INSERT INTO receipt_journal (message_id, participant, kind, at) VALUES (?, ?, ?, ?) ON CONFLICT(message_id, participant, kind) DO NOTHING RETURNING seq",
        receipt.messageId,
        receipt.participant,
        receipt.kind,
        receipt.at,
      )
      .toArray().length;
    if (this.receiptCount !== undefined) this.receiptCount += added;
    return added > 0;
  }

  /** The oldest `limit` participant receipts, in the order they came. */
  takeReceipts(limit: number): ReceiptEntry[] {
    return this.sql
      .exec<{ seq: number; message_id: string; participant: string; kind: "delivered" | "read"; at: string }>(
        "SELECT seq, message_id, participant, kind, at FROM receipt_journal WHERE flushed = 0 ORDER BY seq LIMIT ?",
        limit,
      )
      .toArray()
      .map((r) => ({ seq: r.seq, receipt: { messageId: r.message_id, participant: r.participant, kind: r.kind, at: r.at } }));
  }

  /**
   * D1 has these receipts: kept, marked flushed, as long as their message's outbox row (a week),
   * so a repeat is still known; older flushed ones go.
   */
  removeReceipts(entries: ReceiptEntry[], now = Date.now()): void {
    if (entries.length === 0) return;
    const removed = this.sql
      .exec("UPDATE receipt_journal SET flushed = 1 WHERE flushed = 0 AND seq IN (SELECT value FROM json_each(?)) RETURNING seq", JSON.stringify(entries.map((e) => e.seq)))
      .toArray().length;
    if (this.receiptCount !== undefined) this.receiptCount -= removed;
    this.sql.exec("DELETE FROM receipt_journal WHERE flushed = 1 AND at < ?", new Date(now - RECEIPTS_KEPT_MS).toISOString());
  }

  private receiptsSize(): number {
    this.receiptCount ??= this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM receipt_journal WHERE flushed = 0").one().n;
    return this.receiptCount;
  }

  /** Message ids by WhatsApp id, of these whose `sent` is journaled and not yet in D1. */
  sentOf(waIds: string[]): Map<string, string> {
    if (waIds.length === 0) return new Map();
    const rows = this.sql
      .exec<{ message_id: string; wa_id: string }>(
        "SELECT message_id, wa_id FROM status_journal WHERE kind = 'sent' AND wa_id IN (SELECT value FROM json_each(?))",
        JSON.stringify(waIds),
      )
      .toArray();
    return new Map(rows.map((r) => [r.wa_id, r.message_id]));
  }

  /**
   * Messages of this outbox the server acked, by WhatsApp id: what a receipt needs to be
   * journaled. Ids not found (sent by the phone, or finished over a week ago) are left out.
   */
  ackedByWaId(waIds: string[]): Map<string, AckedMessage> {
    const found = new Map<string, AckedMessage>();
    if (waIds.length === 0) return found;
    const rows = this.sql
      .exec<{ message_id: string; wa_id: string; item: string; acked_at: number }>(
        "SELECT message_id, wa_id, item, acked_at FROM outbox WHERE wa_id IN (SELECT value FROM json_each(?)) AND acked_at IS NOT NULL",
        JSON.stringify(waIds),
      )
      .toArray();
    for (const r of rows) {
      const item = JSON.parse(r.item) as { to?: string; type?: string };
      if (item.to && item.type) found.set(r.wa_id, { messageId: r.message_id, to: item.to, type: item.type, ackedAt: r.acked_at });
    }
    return found;
  }
}
