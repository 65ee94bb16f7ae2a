import type { OutboxItem } from "../domain/outbox-item";

// The session's outbox, in the object's own SQLite: one writer per WhatsApp account, one
// message at a time, paced by each message's delay_between. The WhatsApp message id is
// chosen when the item is accepted, so a retry after a crash re-sends the same id and
// WhatsApp (and the sandbox) treat it as the same message, never a duplicate.

// pending → sending (a crash here means "send again, same id") → done. Done rows stay a
// week so a late queue redelivery of the same message is recognised and ignored.
const DONE_KEPT_MS = 7 * 24 * 60 * 60_000;
// takeReady looks this many rows past the ones it may take.
const TAKE_SCAN_EXTRA = 64;

export interface OutboxEntry {
  item: OutboxItem;
  waId: string;
  attempts: number;
  dueAt: number;
  /** When the server acked it (epoch ms); then only its status is left to journal. */
  ackedAt: number | null;
}

type Row = {
  message_id: string;
  wa_id: string;
  item: string;
  attempts: number;
  due_at: number;
  acked_at: number | null;
};

export function newWhatsAppMessageId(): string {
  // Same shape as Baileys' generateMessageID: "3EB0" + 36 hex digits.
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return "3EB0" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

export class Outbox {
  /** Over the session object's SQLite, once its schema ran (session.schema.ts). */
  constructor(private readonly sql: SqlStorage) {}

  /** Adds items not already held (queue redeliveries are ignored). Returns how many were new. */
  add(items: OutboxItem[], now = Date.now()): number {
    let added = 0;
    for (const item of items) {
      // RETURNING, not rowsWritten: a conflicting insert still counts written rows.
      const cursor = this.sql.exec(
        "INSERT INTO outbox (message_id, wa_id, item, due_at, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(message_id) DO NOTHING RETURNING message_id",
        item.messageId,
        newWhatsAppMessageId(),
        JSON.stringify(item),
        Math.max(now, item.scheduledAt ?? 0),
        now,
      );
      added += cursor.toArray().length;
    }
    return added;
  }

  /** Earliest time the next message may go: its due time, and the pause after the last send. */
  nextSendAt(): number | null {
    const row = this.sql.exec<{ at: number | null }>("SELECT min(due_at) AS at FROM outbox WHERE state != 'done'").one();
    if (row.at === null) return null;
    return Math.max(row.at, this.pausedUntil());
  }

  /** The next message to send now, if any; it is marked `sending` (a crash leaves it to retry). */
  takeNext(now = Date.now()): OutboxEntry | undefined {
    return this.takeReady(1, new Set(), now)[0];
  }

  /**
   * Up to `limit` messages to send now, in order, each marked `sending`. Never two to one chat,
   * nor one to a chat in `busy` (order per chat: the next waits until the one before settled),
   * nor one already in flight. A paced message (delay_between > 0) goes alone: it is taken only
   * when nothing else is in flight or taken, and ends the take.
   */
  takeReady(limit: number, busy: ReadonlySet<string>, now = Date.now(), inFlight: ReadonlySet<string> = new Set()): OutboxEntry[] {
    if (limit <= 0 || this.pausedUntil() > now) return [];
    // Rows past the ones in flight, and some more: several due to one chat must not hide the others.
    const rows = this.sql
      .exec<Row & { chat: string; pace: number }>(
        "SELECT message_id, wa_id, item, attempts, due_at, acked_at, json_extract(item, '$.to') AS chat, json_extract(item, '$.delayBetweenMs') AS pace FROM outbox WHERE state != 'done' AND due_at <= ? ORDER BY due_at, seq LIMIT ?",
        now,
        limit + inFlight.size + TAKE_SCAN_EXTRA,
      )
      .toArray();
    const taken: OutboxEntry[] = [];
    const chats = new Set(busy);
    for (const row of rows) {
      if (taken.length >= limit) break;
      if (inFlight.has(row.message_id)) continue;
      if (row.pace > 0) {
        if (taken.length === 0 && busy.size === 0) taken.push(this.entryOf(row));
        break;
      }
      // Skipped, its chat stays busy: a later message to it must not overtake it.
      if (chats.has(row.chat)) continue;
      chats.add(row.chat);
      taken.push(this.entryOf(row));
    }
    for (const entry of taken) this.sql.exec("UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE message_id = ?", entry.item.messageId);
    return taken;
  }

  /** Recipients of the next `limit` messages due, in order (looked up ahead in one query each). */
  upcomingRecipients(limit: number): string[] {
    return this.sql
      .exec<{ to: string }>("SELECT json_extract(item, '$.to') AS \"to\" FROM outbox WHERE state != 'done' AND acked_at IS NULL ORDER BY due_at, seq LIMIT ?", limit)
      .toArray()
      .map((r) => r.to);
  }

  private entryOf(row: Row): OutboxEntry {
    return { item: JSON.parse(row.item), waId: row.wa_id, attempts: row.attempts + 1, dueAt: row.due_at, ackedAt: row.acked_at };
  }

  /** The server took it: from now on only its status is journaled, never the send retried. */
  markAcked(messageId: string, at: number): void {
    this.sql.exec("UPDATE outbox SET acked_at = ? WHERE message_id = ? AND acked_at IS NULL", at, messageId);
  }

  /**
   * The message left WhatsApp's hands or failed for good: forget it and pause before the next,
   * counted from `pauseFrom` (the drain passes the time of the ack it just recorded).
   */
  finish(messageId: string, pauseMs: number, now = Date.now(), pauseFrom = now): void {
    // Recipient and type stay: a later receipt is journaled with them (status-journal.ts).
    this.sql.exec(
      "UPDATE outbox SET state = 'done', item = json_object('to', json_extract(item, '$.to'), 'type', json_extract(item, '$.type')), due_at = ? WHERE message_id = ?",
      now,
      messageId,
    );
    // Unpaced: nothing to record (a pause set before has passed, or this one could not be sent).
    if (pauseMs <= 0) return;
    this.sql.exec(
      "INSERT INTO outbox_meta (key, value) VALUES ('paused_until', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      pauseFrom + pauseMs,
    );
    this.paused = pauseFrom + pauseMs;
  }

  /** Forgets done entries older than a week: with each reconcile, not per message. */
  prune(now = Date.now()): void {
    this.sql.exec("DELETE FROM outbox WHERE state = 'done' AND due_at < ?", now - DONE_KEPT_MS);
  }

  /** Ids of the next `limit` messages to send, in order (for one D1 read per slice). */
  upcomingIds(limit: number): string[] {
    return this.sql
      .exec<{ message_id: string }>("SELECT message_id FROM outbox WHERE state != 'done' AND acked_at IS NULL ORDER BY due_at, seq LIMIT ?", limit)
      .toArray()
      .map((r) => r.message_id);
  }

  /** Try again later (transient failure). */
  postpone(messageId: string, until: number): void {
    this.sql.exec("UPDATE outbox SET state = 'pending', due_at = ? WHERE message_id = ?", until, messageId);
    // The later messages to its chat wait as long (order per chat; equal due times go by seq).
    this.sql.exec(
      `UPDATE outbox SET due_at = ?1 WHERE state != 'done' AND acked_at IS NULL AND due_at < ?1
         AND seq > (SELECT seq FROM outbox WHERE message_id = ?2)
         AND json_extract(item, '$.to') = (SELECT json_extract(item, '$.to') FROM outbox WHERE message_id = ?2)`,
      until,
      messageId,
    );
  }

  /**
   * The frame went out but the server never acked it: send the same id again on the next
   * socket. Not a failed attempt (it may have been delivered), and its due time stays, so the
   * outbox's max wait still bounds it.
   */
  requeue(messageId: string): void {
    this.sql.exec("UPDATE outbox SET state = 'pending', attempts = max(0, attempts - 1) WHERE message_id = ?", messageId);
  }

  /** Everything still held, oldest first (used when the session can never send them). */
  held(): OutboxEntry[] {
    return this.select("state != 'done'");
  }

  /** Everything that has been due since before `before` (epoch ms) and is still held, unless acked. */
  expired(before: number): OutboxEntry[] {
    return this.select("state != 'done' AND acked_at IS NULL AND due_at < ?", before);
  }

  /**
   * Finished without a send (failed for good); the caller records the failure in D1 first, so
   * a crash in between leaves the entry held and it is failed again, never lost.
   */
  forget(messageId: string): void {
    this.sql.exec("UPDATE outbox SET state = 'done', item = '{}' WHERE message_id = ?", messageId);
  }

  /**
   * Of these ids, those that may be failed from outside (the send queue's dead letters): not
   * acked, not being sent now, never written to the socket (a frame whose ack went missing may
   * have been delivered: the drain settles it as `unconfirmed`, never refunded). They are marked done at once (an id not held gets a done row),
   * so neither the drain, a reconcile nor a late queue delivery sends them after this. The row
   * keeps the reason: should the caller's D1 failure not land, a reconcile finishes it (released).
   */
  releaseUnsent(ids: string[], reason: string, now = Date.now()): string[] {
    const list = JSON.stringify([...new Set(ids)]);
    const busy = new Set(
      this.sql
        .exec<{ message_id: string }>("SELECT message_id FROM outbox WHERE message_id IN (SELECT value FROM json_each(?)) AND (acked_at IS NOT NULL OR state = 'sending' OR wa_id IN (SELECT wa_id FROM sent_messages))", list)
        .toArray()
        .map((r) => r.message_id),
    );
    const free = [...new Set(ids)].filter((id) => !busy.has(id));
    for (const id of free) {
      this.sql.exec(
        "INSERT INTO outbox (message_id, wa_id, item, due_at, created_at, state) VALUES (?, ?, ?, ?, ?, 'done') ON CONFLICT(message_id) DO UPDATE SET state = 'done', item = excluded.item",
        id,
        newWhatsAppMessageId(),
        JSON.stringify({ released: reason }),
        now,
        now,
      );
    }
    return free;
  }

  /** Of these ids, those released to be failed from outside (never acked), with the reason given. */
  released(ids: string[]): Map<string, string> {
    const rows = this.sql
      .exec<{ message_id: string; reason: string }>(
        "SELECT message_id, json_extract(item, '$.released') AS reason FROM outbox WHERE message_id IN (SELECT value FROM json_each(?)) AND state = 'done' AND acked_at IS NULL AND json_extract(item, '$.released') IS NOT NULL",
        JSON.stringify(ids),
      )
      .toArray();
    return new Map(rows.map((r) => [r.message_id, r.reason]));
  }

  /** Whether anything is still held (cheaper than size(): asked after every send). */
  hasHeld(): boolean {
    return this.sql.exec("SELECT 1 FROM outbox WHERE state != 'done' LIMIT 1").toArray().length > 0;
  }

  size(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE state != 'done'").one().n;
  }

  private select(where: string, ...bindings: unknown[]): OutboxEntry[] {
    const rows = this.sql.exec<Row>(`SELECT message_id, wa_id, item, attempts, due_at, acked_at FROM outbox WHERE ${where} ORDER BY due_at, seq`, ...bindings).toArray();
    return rows.map((r) => ({ item: JSON.parse(r.item), waId: r.wa_id, attempts: r.attempts, dueAt: r.due_at, ackedAt: r.acked_at }));
  }

  /** When the last full reconcile with D1 started (epoch ms), or null if never. */
  reconciledAt(): number | null {
    return this.sql.exec<{ value: number }>("SELECT value FROM outbox_meta WHERE key = 'reconciled_at'").toArray()[0]?.value ?? null;
  }

  setReconciledAt(at: number): void {
    this.sql.exec(
      "INSERT INTO outbox_meta (key, value) VALUES ('reconciled_at', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      at,
    );
  }

  // Read before every take: kept in memory, written through (forgetCache after storage is erased).
  private paused: number | undefined;

  private pausedUntil(): number {
    this.paused ??= this.sql.exec<{ value: number }>("SELECT value FROM outbox_meta WHERE key = 'paused_until'").toArray()[0]?.value ?? 0;
    return this.paused;
  }

  /** The object's storage was erased: read what is kept again. */
  forgetCache(): void {
    this.paused = undefined;
  }
}
