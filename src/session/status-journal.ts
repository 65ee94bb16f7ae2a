import type { MessageChange } from "../events/message-batch";
import type { StatusKind } from "../db/messages.flush";

// Status changes of sent messages (the server's ack, delivery and read receipts), written to
// the object's own SQLite the moment they happen, then flushed to D1 in batches by
// status-flush.ts. Until D1 has a change, this table is its only record: it survives a crash,
// and the next wake flushes it. A repeated ack or receipt, or one below the status already
// journaled, adds nothing.

export interface JournalEntry {
  seq: number;
  change: MessageChange;
}

type Row = { seq: number; message_id: string; kind: StatusKind; wa_id: string; at: string; chat: string; msg_type: string };

const RANK = (kind: string) => `(CASE ${kind} WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 ELSE 0 END)`;

export class StatusJournal {
  /** Rows held, counted once per wake then kept in step (size() is asked per change). */
  private count: number | undefined;

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

  size(): number {
    this.count ??= this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM status_journal").one().n;
    return this.count;
  }

  /** The storage was erased: count again. */
  forget(): void {
    this.count = undefined;
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
  ackedByWaId(waIds: string[]): Map<string, { messageId: string; to: string; type: string }> {
    const found = new Map<string, { messageId: string; to: string; type: string }>();
    if (waIds.length === 0) return found;
    const rows = this.sql
      .exec<{ message_id: string; wa_id: string; item: string }>(
        "SELECT message_id, wa_id, item FROM outbox WHERE wa_id IN (SELECT value FROM json_each(?)) AND acked_at IS NOT NULL",
        JSON.stringify(waIds),
      )
      .toArray();
    for (const r of rows) {
      const item = JSON.parse(r.item) as { to?: string; type?: string };
      if (item.to && item.type) found.set(r.wa_id, { messageId: r.message_id, to: item.to, type: item.type });
    }
    return found;
  }
}
