import type { BaileysEventMap, MessageUserReceiptUpdate, WASocket, WAMessageUpdate } from "baileys";
import { database } from "../db/client";
import { findMessageByProvider } from "../db/messages.query";
import { PENDING_STATUSES } from "../db/messages.rows";
import { markMessagesByProvider } from "../db/messages.status";
import { emitMessageEvent } from "../events/message-events";
import { now, toTimestamp } from "../domain/time";
import { isOwnJid, jidParts, jidToPhone, type OwnIds } from "../domain/phone";
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

/**
 * Receipts of our group messages in one event batch: `message-receipt.update`, and those Baileys
 * merged into the upsert of our own message while it was still buffered (event-buffer.js:
 * `userReceipt` on the message, no receipt event).
 */
export function groupReceiptsOf(events: Partial<BaileysEventMap>): MessageUserReceiptUpdate[] {
  const merged = (events["messages.upsert"]?.messages ?? []).flatMap((msg) =>
    msg.key.fromMe && msg.key.id && msg.userReceipt?.length ? msg.userReceipt.map((receipt) => ({ key: msg.key, receipt })) : [],
  );
  return [...(events["message-receipt.update"] ?? []), ...merged];
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

type ReceiptKind = "delivered" | "read";

/** A member's receipt of one of our group messages: its kind and its own time (ISO). */
interface MemberReceipt {
  id: string;
  jid: string;
  kind: ReceiptKind;
  at: string;
}

/**
 * The members' receipts of our group messages in these updates, earliest first. The session's
 * own receipts are left out: its phone's `type="sender"` receipt of a message a companion sent
 * (whatsmeow receipt.go sendMessageReceipt), which Baileys emits with a readTimestamp, and its
 * own reads of others' messages (Baileys marks these fromMe too: no `recipient` attribute).
 */
export function memberReceipts(updates: MessageUserReceiptUpdate[], me: OwnIds | undefined): MemberReceipt[] {
  const out: MemberReceipt[] = [];
  for (const { key, receipt } of updates) {
    if (!key.fromMe || !key.id || !receipt.userJid || isOwnJid(receipt.userJid, me)) continue;
    const read = receipt.readTimestamp || receipt.playedTimestamp;
    const seconds = Number(read || receipt.receiptTimestamp || 0);
    if (!seconds) continue;
    out.push({ id: key.id, jid: receipt.userJid, kind: read ? "read" : "delivered", at: toTimestamp(seconds * 1000) });
  }
  return out.sort((a, b) => a.at.localeCompare(b.at) || (a.kind === b.kind ? 0 : a.kind === "delivered" ? -1 : 1));
}

/**
 * Each member as message_receipts keys them: a number's digits, a LID resolved to the number
 * Baileys knows for it (lid-mapping), else the LID JID itself ("123@lid"): one person, one key.
 */
export async function participantsOf(socket: WASocket | undefined, jids: string[]): Promise<Map<string, string>> {
  const keyOf = new Map<string, string>();
  const lids: string[] = [];
  for (const jid of new Set(jids)) {
    const phone = jidToPhone(jid);
    const parts = jidParts(jid);
    if (phone) keyOf.set(jid, phone);
    else if (parts?.server === "lid") lids.push(jid);
    else keyOf.set(jid, parts ? `${parts.user}@${parts.server}` : jid);
  }
  const pairs = lids.length ? ((await socket?.signalRepository?.lidMapping?.getPNsForLIDs(lids).catch(() => null)) ?? []) : [];
  const pnOf = new Map(pairs.map((p) => [jidParts(p.lid)?.user, p.pn]));
  for (const jid of lids) {
    const phone = jidToPhone(pnOf.get(jidParts(jid)?.user) ?? "");
    keyOf.set(jid, phone ?? `${jidParts(jid)!.user}@lid`);
  }
  return keyOf;
}

const maxTime = (a: string, b: string) => (a > b ? a : b);

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

  /**
   * Receipts of group messages: WhatsApp sends one per participant (`<receipt from=group
   * participant=member>`), which Baileys emits as `message-receipt.update`, never as a status
   * update. Each member's is journaled for message_receipts, at the receipt's own time; the
   * message itself turns delivered/read with the first (the journal keeps only a raise). Only
   * messages this outbox sent have members recorded; others (sent from the phone, or over a
   * week ago) get their status alone.
   */
  async onGroupReceipts(config: SessionConfig, updates: MessageUserReceiptUpdate[], socket?: WASocket): Promise<void> {
    const receipts = memberReceipts(updates, socket?.authState?.creds?.me ?? (socket?.user as OwnIds | undefined));
    if (receipts.length === 0) return;
    const ids = [...new Set(receipts.map((r) => r.id))];
    await this.acks.settled(ids);
    const known = this.journal.ackedByWaId(ids);
    const keyOf = known.size > 0 ? await participantsOf(socket, receipts.filter((r) => known.has(r.id)).map((r) => r.jid)) : new Map<string, string>();
    let journaled = false;
    // Earliest first: each message takes its first member's time, and each member its first.
    const others = new Map<string, ReceiptBatch>();
    for (const r of receipts) {
      const m = known.get(r.id);
      if (!m) {
        const batch = others.get(r.at) ?? new Map();
        add(batch, r.kind === "read" ? STATUS_READ : STATUS_DELIVERED, r.id);
        others.set(r.at, batch);
        continue;
      }
      // WhatsApp's receipt time is whole seconds: never before the ack it follows.
      const at = maxTime(r.at, toTimestamp(m.ackedAt));
      if (this.journal.recordReceipt({ messageId: m.messageId, participant: keyOf.get(r.jid)!, kind: r.kind, at })) journaled = true;
      if (this.journal.record({ messageId: m.messageId, kind: r.kind, waId: r.id, at, to: m.to, type: m.type })) journaled = true;
    }
    if (journaled) this.flusher.noted();
    // Messages not from this outbox: their status in D1 at once, as for 1:1 receipts.
    for (const [at, batch] of others) await this.apply(config, batch, new Map(), at);
  }

  async apply(config: SessionConfig, batch: ReceiptBatch, errorCodes = new Map<string, string>(), at = now()): Promise<void> {
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
