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
import type { SessionConfig } from "./session.types";

// What WhatsApp says back about messages this session sent: delivery and read receipts, and a
// server-side refusal of a message it had acked. Each becomes a D1 status and a webhook event.

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
    for (const [status, ids] of batch) {
      if (status === STATUS_ERROR) {
        for (const id of ids) {
          const row = await findMessageByProvider(db, config.id, id);
          // WhatsApp refused a message (a message still pending is failed by the sender itself).
          const code = errorCodes.get(id);
          if (row) await failMessage(this.env, row.id, code ? ackErrorReason(code) : "rejected_by_whatsapp", [...PENDING_STATUSES, "sent"]);
        }
        continue;
      }
      if (status < STATUS_DELIVERED) continue;
      const target = status >= STATUS_READ ? "read" : "delivered";
      const rows = await markMessagesByProvider(db, config.id, ids, target, now());
      for (const row of rows) await emitMessageEvent(this.env, row.status === "read" ? "message.read" : "message.delivered", row);
    }
  }
}
