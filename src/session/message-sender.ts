import type { WASocket } from "baileys";
import { database } from "../db/client";
import { findMessage } from "../db/messages.query";
import { chatOfMessage, PENDING_STATUSES, receivedGroupOf, type MessageStatus } from "../db/messages.rows";
import { failMessages } from "../db/messages.status";
import { emitMessageEvent } from "../events/message-events";
import { ackErrorReason } from "../domain/ack-errors";
import { chatJid, isGroupId, phoneToJid } from "../domain/phone";
import { toTimestamp } from "../domain/time";
import { log } from "../platform/log";
import { downloadMedia, MediaDownloadError } from "./media-download";
import { buildMessage, type FetchedMedia, type MessageRef } from "./message-content";
import { GroupRefusal, type GroupDirectory } from "./message-groups";
import { NumberDirectory } from "./number-directory";
import type { Outbox, OutboxEntry } from "./outbox";
import type { SentStore } from "./sent-store";
import type { ServerAck, ServerAcks } from "./server-acks";
import type { PendingVerdicts } from "./pending-verdicts";
import type { StatusFlush } from "./status-flush";
import type { StatusJournal } from "./status-journal";
import type { OutboxItem } from "../domain/outbox-item";
import type { SessionConfig } from "./session.types";

// Sends outbox entries through Baileys: checks the number is on WhatsApp (cached), resolves
// replies and reactions, fetches media, and records the outcome: `sent` in the status journal
// (flushed to D1 with its webhook event in batches, status-flush.ts), a failure in D1 at once.
// A message is `sent` once the server acked its stanza (or a receipt of it arrived first); an
// ack with an error fails it (e.g. 463, no trusted contact token). A missing ack is not a failed
// attempt: the message may well have been delivered, so it is resent with the same id on the
// next socket (one message for the recipient, see outbox.ts), for as long as the outbox waits.
// What WhatsApp says back later is receipts.ts; incoming: receive.ts.

/** `unacked`: the frame went out but no ack came; resend on the next socket, not an attempt. */
export type SendOutcome = "sent" | "failed" | "retry" | "unacked" | "skipped";

const MAX_ATTEMPTS = 3;
// The server acks a message within a second. Silence longer than a keepalive round (Baileys pings
// every 30 s and drops the socket 5 s after a missed answer) means the link is dead, not slow.
export const SERVER_ACK_TIMEOUT_MS = 35_000;

/** A failure that retrying cannot fix. */
class PermanentFailure extends Error {}

/** The frame was written but no ack came (timeout, or the socket closed first). */
class AckMissing extends Error {}

/** How a sender ends a socket whose server went silent: as Baileys' keepalive does (408, connectionLost). */
function silentServerError(): Error {
  return Object.assign(new Error("Connection was lost: no server ack"), { output: { statusCode: 408 } });
}

// Baileys' end() drops the ws `close` listeners before closing, so ServerAcks does not hear a
// socket this object ends itself (delete, logout, reconnect): its connection update says it, at
// once, rather than each send in flight waiting out the ack timeout. One listener per socket;
// each send in flight registers while it waits and leaves after (nothing kept per message).
const closeWaiters = new WeakMap<WASocket, { closed: boolean; waiters: Set<() => void> }>();

/** Calls `onClose` when the socket closes (at once if it has); returns how to stop listening. */
function whenClosed(socket: WASocket, onClose: () => void): () => void {
  let entry = closeWaiters.get(socket);
  if (!entry) {
    const created = { closed: false, waiters: new Set<() => void>() };
    socket.ev.on("connection.update", (update) => {
      if (update.connection !== "close") return;
      created.closed = true;
      for (const waiter of [...created.waiters]) waiter();
    });
    closeWaiters.set(socket, created);
    entry = created;
  }
  if (entry.closed) {
    onClose();
    return () => {};
  }
  const { waiters } = entry;
  waiters.add(onClose);
  return () => waiters.delete(onClose);
}

/** The ack, or a rejection as soon as the socket closes. */
async function ackOrClose(socket: WASocket, ack: Promise<ServerAck>): Promise<ServerAck> {
  let stop = () => {};
  const closed = new Promise<never>((_, reject) => {
    stop = whenClosed(socket, () => reject(new Error("the socket closed before the server acked the message")));
  });
  closed.catch(() => {});
  try {
    return await Promise.race([ack, closed]);
  } finally {
    stop();
  }
}

/** Final failure: the row becomes `failed` with its cost refunded (once), and subscribers hear of it. */
export async function failMessage(env: Env, messageId: string, reason: string, statuses: readonly MessageStatus[] = PENDING_STATUSES): Promise<void> {
  const [row] = await failMessages(database(env), [messageId], reason, statuses);
  if (row) await emitMessageEvent(env, "message.failed", row);
}

export class MessageSender {

  /** Over the session object's SQLite, once its schema ran (session.schema.ts). */
  constructor(
    private readonly env: Env,
    sql: SqlStorage,
    private readonly acks: ServerAcks,
    private readonly sentStore: SentStore,
    private readonly outbox: Outbox,
    private readonly journal: StatusJournal,
    private readonly flusher: StatusFlush,
    readonly pending: PendingVerdicts,
    /** The groups it sends into, briefly cached; the socket's `cachedGroupMetadata` reads the same. */
    private readonly groups: GroupDirectory,
    /** Tests use a short one (SessionConfig.ackTimeoutMs overrides it per session). */
    private readonly ackTimeoutMs = SERVER_ACK_TIMEOUT_MS,
  ) {
    this.numbers = new NumberDirectory(sql);
  }

  /** Numbers on WhatsApp, and the next messages' numbers resolved ahead (number-directory.ts). */
  readonly numbers: NumberDirectory;

  async send(socket: WASocket, config: SessionConfig, entry: OutboxEntry): Promise<SendOutcome> {
    const { item } = entry;
    // Acked before (a crash came before its finish): journal `sent` again, never send it again.
    if (entry.ackedAt !== null) return this.recordAcked(entry);
    // The socket is ending (e.g. after a missing ack): wait for the next one, not an attempt.
    if (!socket.ws.isOpen) return "unacked";
    // Failed (and refunded) elsewhere meanwhile, e.g. by the dead-letter consumer: never send it.
    if (!(await this.pending.stillPending(item.messageId, () => this.outbox.upcomingIds(100)))) return "skipped";
    const jid = chatJid(item.to);
    const isGroup = isGroupId(jid);
    try {
      // A group's info is read first (cached briefly; Baileys encrypts to the same participant
      // list): its refusal is the one answer that says "not a member" / "no such group".
      if (isGroup) await this.groups.read(socket, jid);
      // Groups have no "on WhatsApp" check; membership and announce-only are WhatsApp's to enforce.
      else if (!(await this.numbers.onWhatsApp(socket, item.to))) throw new PermanentFailure("not_on_whatsapp");
      const refs = await this.resolveRefs(config, item);
      const media = item.mediaUrl ? await this.fetchMedia(item) : null;
      const everyone = isGroup && (item.payload as { mention_all?: boolean } | null)?.mention_all ? await this.groups.everyone(socket, jid) : [];
      const built = buildMessage(item, entry.waId, media, refs, everyone);
      return await this.sendAndRecord(socket, config, jid, entry, built);
    } catch (err) {
      if (err instanceof AckMissing) {
        log.warn({ message: item.messageId, err }, "no server ack; resending on the next socket");
        return "unacked";
      }
      if (err instanceof PermanentFailure || err instanceof GroupRefusal || entry.attempts >= MAX_ATTEMPTS) {
        const final = err instanceof PermanentFailure || err instanceof GroupRefusal;
        await this.fail(item.messageId, final ? err.message : `send_failed: ${errorText(err)}`);
        return "failed";
      }
      log.warn({ message: item.messageId, attempt: entry.attempts, err }, "send failed, will retry");
      return "retry";
    }
  }

  /** Sends, keeps the content for resends, and records what the server's ack says. */
  private async sendAndRecord(
    socket: WASocket,
    config: SessionConfig,
    jid: string,
    entry: OutboxEntry,
    built: ReturnType<typeof buildMessage>,
  ): Promise<SendOutcome> {
    const { item, waId } = entry;
    const waiting = this.acks.expect(socket, waId, config.ackTimeoutMs ?? this.ackTimeoutMs);
    try {
      const sent = await socket.sendMessage(jid, built.content, built.options);
      // Before the ack: a recipient that cannot decrypt asks for a resend (getMessage).
      if (sent?.message) this.sentStore.save(waId, jid, sent.message);
      let ack: ServerAck;
      try {
        ack = await ackOrClose(socket, waiting.ack);
      } catch (err) {
        throw new AckMissing(errorText(err));
      }
      if (ack === "timeout") {
        // The socket looks open but the server is silent: end it so the lifecycle reconnects,
        // and the resend goes out on a live socket.
        void socket.end(silentServerError()).catch(() => {});
        throw new AckMissing("no server ack");
      }
      if (ack.error) {
        log.warn({ message: item.messageId, ack_error: ack.error }, "server refused the message");
        // Never delivered, so never asked for again.
        this.sentStore.forget(waId);
        throw new PermanentFailure(isGroupId(jid) ? await this.groups.refusalReason(socket, jid, ack.error) : ackErrorReason(ack.error));
      }
      if (ack.via === "receipt") log.info({ message: item.messageId }, "receipt before the server ack: accepted");
      // In the object's own SQLite, synchronously: whatever D1 does, no second send.
      const ackedAt = Date.now();
      this.outbox.markAcked(item.messageId, ackedAt);
      return this.recordAcked({ ...entry, ackedAt });
    } finally {
      // Receipts of this message held by ServerAcks.settled may go on (a refusal has none).
      waiting.done();
    }
  }

  /**
   * `sent` (at the ack's time) for a message the server acked, in the status journal; D1 and
   * the event follow with the next flush. An acked message never fails or is refunded.
   */
  recordAcked(entry: OutboxEntry): SendOutcome {
    const { item } = entry;
    this.journal.record({ messageId: item.messageId, kind: "sent", waId: entry.waId, at: toTimestamp(entry.ackedAt ?? Date.now()), to: item.to, type: item.type });
    this.pending.forget(item.messageId);
    this.flusher.noted();
    return "sent";
  }

  /** Final failure: the row becomes `failed` with its cost refunded (once), and subscribers hear of it. */
  async fail(messageId: string, reason: string): Promise<void> {
    await failMessage(this.env, messageId, reason);
  }

  async revoke(socket: WASocket, to: string, providerMessageId: string): Promise<void> {
    await socket.sendMessage(chatJid(to), { delete: { remoteJid: chatJid(to), fromMe: true, id: providerMessageId } });
  }

  private async resolveRefs(config: SessionConfig, item: OutboxItem): Promise<{ replyTo?: MessageRef; reactTo?: MessageRef }> {
    const payload = (item.payload ?? {}) as { reply_to?: string; reaction?: { message_id: string } };
    const refs: { replyTo?: MessageRef; reactTo?: MessageRef } = {};
    if (payload.reply_to) refs.replyTo = await this.ref(config, payload.reply_to, "reply_to");
    if (payload.reaction?.message_id) refs.reactTo = await this.ref(config, payload.reaction.message_id, "reaction");
    return refs;
  }

  private async ref(config: SessionConfig, messageId: string, field: string): Promise<MessageRef> {
    const row = await findMessage(database(this.env), config.accountId, messageId);
    if (!row?.providerMessageId) throw new PermanentFailure(`${field}_not_found`);
    // A received group message is in its group, written by its sender.
    const group = receivedGroupOf(row);
    // A sender known only by LID has no number: its chat is the LID JID the message came on.
    const chat = chatOfMessage(row);
    if (!chat) throw new PermanentFailure(`${field}_not_found`);
    return {
      providerMessageId: row.providerMessageId,
      fromMe: row.direction === "outgoing",
      chat,
      participant: group ? authorJid(row) : undefined,
      text: row.content,
    };
  }

  private async fetchMedia(item: OutboxItem): Promise<FetchedMedia> {
    try {
      return await downloadMedia(this.env, item.type, item.mediaUrl!);
    } catch (err) {
      if (err instanceof MediaDownloadError && err.permanent) throw new PermanentFailure(err.code);
      throw err;
    }
  }
}

/** A received message's author as a jid: their number, else the LID the receiver kept (payload.author_lid). */
function authorJid(row: { fromNumber: string | null; payload: Record<string, unknown> | null }): string | undefined {
  if (row.fromNumber) return phoneToJid(row.fromNumber);
  const lid = row.payload?.author_lid;
  return typeof lid === "string" ? lid : undefined;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
