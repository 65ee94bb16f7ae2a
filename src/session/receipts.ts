import type { BaileysEventMap, WAMessageUpdate } from "baileys";
import { database } from "../db/client";
import { findMessageByProvider } from "../db/messages.query";
import { PENDING_STATUSES } from "../db/messages.rows";
import { markMessagesByProvider } from "../db/messages.status";
import { emitMessageEvent } from "../events/message-events";
import { now } from "../domain/time";
import { ackErrorReason } from "../domain/ack-errors";
import { failMessage } from "./message-sender";
import type { ServerAcks } from "./server-acks";
import type { StatusFlush } from "./status-flush";
import type { StatusJournal } from "./status-journal";
import type { SessionConfig } from "./session.types";

// What WhatsApp says back about messages this session sent: delivery and read receipts, and a
// server-side refusal of a message it had acked. A receipt of a message this outbox sent goes to
// the status journal (flushed to D1 with its event in batches, status-flush.ts); one of another
// message (sent from the phone, or over a week ago) and a refusal go to D1 at once.

// Baileys' WAMessageStatus: 0 ERROR, 3 DELIVERY_ACK, 4 READ, 5 PLAYED.
const STATUS_ERROR = 0;
const STATUS_DELIVERED = 3;
const STATUS_READ = 4;

/** WhatsApp message ids by the Baileys status they reached. */
export type ReceiptBatch = Map<number, string[]>;

function add(batch: ReceiptBatch, status: number, id: string): void {
  batch.set(status, [...(batch.get(status) ?? []), id]);
}

/** Receipts of our own messages in a `messages.update` batch. */
export function receiptsInUpdates(updates: WAMessageUpdate[]): ReceiptBatch {
  const batch: ReceiptBatch = new Map();
  for (const { key, update } of updates) {
    if (!key.fromMe || !key.id || typeof update.status !== "number") continue;
    add(batch, update.status, key.id);
  }
  return batch;
}

/** Baileys merges a receipt into the upsert of our own message when that message was still buffered. */
export function receiptsInUpsert(upsert: BaileysEventMap["messages.upsert"]): ReceiptBatch {
  const batch: ReceiptBatch = new Map();
  for (const msg of upsert.messages) {
    if (msg.key.fromMe && msg.key.id && typeof msg.status === "number" && msg.status >= STATUS_DELIVERED) add(batch, msg.status, msg.key.id);
  }
  return batch;
}

/** The error code Baileys puts on an ERROR update (handleBadAck: messageStubParameters [code]), by id. */
export function errorCodesInUpdates(updates: WAMessageUpdate[]): Map<string, string> {
  const codes = new Map<string, string>();
  for (const { key, update } of updates) {
    const code = update.messageStubParameters?.[0];
    if (key.fromMe && key.id && update.status === STATUS_ERROR && code) codes.set(key.id, String(code));
  }
  return codes;
}

export class Receipts {
  constructor(
    private readonly env: Env,
    private readonly acks: ServerAcks,
    private readonly journal: StatusJournal,
    private readonly flusher: StatusFlush,
  ) {}

  /** Delivery and read receipts (and server-side errors) of messages we sent. */
  async onUpdates(config: SessionConfig, updates: WAMessageUpdate[]): Promise<void> {
    await this.apply(config, receiptsInUpdates(updates), errorCodesInUpdates(updates));
  }

  async apply(config: SessionConfig, batch: ReceiptBatch, errorCodes = new Map<string, string>()): Promise<void> {
    const db = database(this.env);
    // A delivery or read receipt may overtake the ack (or the sender's D1 write of it); an
    // ERROR is the refusal itself, which the sender reads from the ack: it proves nothing.
    const receipted = [...batch].filter(([status]) => status >= STATUS_DELIVERED).flatMap(([, ids]) => ids);
    await this.acks.settled(receipted);
    // Lowest first: a delivered and a read of one message in one batch are both journaled.
    for (const [status, ids] of [...batch].sort(([a], [b]) => a - b)) {
      if (status === STATUS_ERROR) {
        // Its `sent` may still be journaled: D1 first has it, so the refusal finds the row.
        await this.flusher.flush();
        // Not flushed (D1 failed): the row is still pending in D1 and is failed by its id. Its
        // journaled `sent` then changes nothing (the flush only moves pending rows). A D1
        // failure here throws: never dropped silently.
        const unflushed = this.journal.sentOf(ids);
        for (const id of ids) {
          // WhatsApp refused a message (a message still pending is failed by the sender itself).
          const code = errorCodes.get(id);
          const reason = code ? ackErrorReason(code) : "rejected_by_whatsapp";
          const messageId = unflushed.get(id) ?? (await findMessageByProvider(db, config.id, id))?.id;
          if (messageId) await failMessage(this.env, messageId, reason, [...PENDING_STATUSES, "sent"]);
        }
        continue;
      }
      if (status < STATUS_DELIVERED) continue;
      const target = status >= STATUS_READ ? "read" : "delivered";
      const at = now();
      const known = this.journal.ackedByWaId(ids);
      let recorded = 0;
      for (const [waId, m] of known) if (this.journal.record({ messageId: m.messageId, kind: target, waId, at, to: m.to, type: m.type })) recorded++;
      if (recorded > 0) this.flusher.noted();
      const others = ids.filter((id) => !known.has(id));
      if (others.length === 0) continue;
      const rows = await markMessagesByProvider(db, config.id, others, target, at);
      for (const row of rows) await emitMessageEvent(this.env, row.status === "read" ? "message.read" : "message.delivered", row);
    }
  }
}
