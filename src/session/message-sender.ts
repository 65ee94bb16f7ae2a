import {
  BufferJSON,
  downloadMediaMessage,
  type BaileysEventMap,
  type WAMessage,
  type WAMessageUpdate,
  type WASocket,
} from "baileys";
import { and, eq } from "drizzle-orm";
import { database } from "../db/client";
import { messages } from "../db/schema";
import { failMessages, findMessage, insertIncomingMessage, pendingMessageIds, PENDING_STATUSES, type MessageStatus, markMessageSent, markMessagesByProvider, type MessageRow } from "../db/messages.repo";
import { emitMessageEvent } from "../events/message-events";
import type { WebhookEventType } from "../domain/webhook-events";
import { chatJid, jidToPhone, phoneToJid } from "../domain/phone";
import { now, toTimestamp } from "../domain/time";
import { downloadMedia, MediaDownloadError } from "./media-download";
import { describeMessage } from "./incoming";
import { buildMessage, type FetchedMedia, type MessageRef } from "./message-content";
import type { ReceivedMessage } from "./auto-reply";
import type { OutboxEntry } from "./outbox";
import type { OutboxItem } from "./outbox.types";
import type { SessionConfig } from "./session.types";

// Sends outbox entries through Baileys and turns what WhatsApp says back (acks, receipts,
// incoming messages) into D1 rows and webhook events.

export type SendOutcome = "sent" | "failed" | "retry" | "skipped";

const MAX_ATTEMPTS = 3;
// A number's WhatsApp presence is re-checked after this long.
const CONTACT_TTL_MS = 24 * 60 * 60_000;
// Baileys' WAMessageStatus: 0 ERROR, 3 DELIVERY_ACK, 4 READ, 5 PLAYED.
const STATUS_ERROR = 0;
const STATUS_DELIVERED = 3;
const STATUS_READ = 4;

/** A failure that retrying cannot fix. */
class PermanentFailure extends Error {}

export class MessageSender {
  constructor(
    private readonly env: Env,
    private readonly sql: SqlStorage,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS contacts (phone TEXT PRIMARY KEY, on_whatsapp INTEGER NOT NULL, checked_at INTEGER NOT NULL)");
    // Incoming media messages, kept so their media can be downloaded later through the API.
    sql.exec("CREATE TABLE IF NOT EXISTS inbound_media (message_id TEXT PRIMARY KEY, wa_message TEXT NOT NULL, created_at INTEGER NOT NULL)");
  }

  async send(socket: WASocket, config: SessionConfig, entry: OutboxEntry): Promise<SendOutcome> {
    const { item } = entry;
    // Failed (and refunded) elsewhere meanwhile, e.g. by the dead-letter consumer: never send it.
    if (!(await pendingMessageIds(database(this.env), [item.messageId])).has(item.messageId)) return "skipped";
    try {
      const jid = chatJid(item.to);
      // Groups (bot replies) have no "on WhatsApp" check; membership is WhatsApp's to enforce.
      if (!jid.endsWith("@g.us") && !(await this.onWhatsApp(socket, item.to))) throw new PermanentFailure("not_on_whatsapp");
      const refs = await this.resolveRefs(config, item);
      const media = item.mediaUrl ? await this.fetchMedia(item) : null;
      const built = buildMessage(item, entry.waId, media, refs);
      await socket.sendMessage(jid, built.content, built.options);
    } catch (err) {
      if (err instanceof PermanentFailure || entry.attempts >= MAX_ATTEMPTS) {
        await this.fail(item.messageId, err instanceof PermanentFailure ? err.message : `send_failed: ${errorText(err)}`);
        return "failed";
      }
      console.warn(JSON.stringify({ msg: "send failed, will retry", message: item.messageId, attempt: entry.attempts, err: errorText(err) }));
      return "retry";
    }
    const row = await markMessageSent(database(this.env), item.messageId, entry.waId, now());
    if (row) await emitMessageEvent(this.env, "message.sent", row);
    return "sent";
  }

  /** Final failure: the row becomes `failed` with its cost refunded (once), and subscribers hear of it. */
  async fail(messageId: string, reason: string, statuses: readonly MessageStatus[] = PENDING_STATUSES): Promise<void> {
    const [row] = await failMessages(database(this.env), [messageId], reason, statuses);
    if (row) await emitMessageEvent(this.env, "message.failed", row);
  }

  async revoke(socket: WASocket, to: string, providerMessageId: string): Promise<void> {
    await socket.sendMessage(chatJid(to), { delete: { remoteJid: chatJid(to), fromMe: true, id: providerMessageId } });
  }

  /** Delivery and read receipts (and server-side errors) of messages we sent. */
  async onUpdates(config: SessionConfig, updates: WAMessageUpdate[]): Promise<void> {
    const byStatus = new Map<number, string[]>();
    for (const { key, update } of updates) {
      if (!key.fromMe || !key.id || typeof update.status !== "number") continue;
      byStatus.set(update.status, [...(byStatus.get(update.status) ?? []), key.id]);
    }
    await this.applyStatuses(config, byStatus);
  }

  /**
   * New messages: contacts' messages are stored as incoming; our own carry receipts merged in.
   * Returns the messages stored now (not redeliveries), for the bot.
   */
  async onUpsert(config: SessionConfig, upsert: BaileysEventMap["messages.upsert"], ownPhone: string | null): Promise<ReceivedMessage[]> {
    const received: ReceivedMessage[] = [];
    const byStatus = new Map<number, string[]>();
    for (const msg of upsert.messages) {
      if (msg.key.fromMe) {
        // Baileys merges a receipt into the upsert when the message was still buffered.
        if (msg.key.id && typeof msg.status === "number" && msg.status >= STATUS_DELIVERED) {
          byStatus.set(msg.status, [...(byStatus.get(msg.status) ?? []), msg.key.id]);
        }
        continue;
      }
      if (upsert.type !== "notify" && upsert.type !== "append") continue;
      const stored = await this.storeIncoming(config, msg, ownPhone);
      if (stored) received.push({ ...stored, offline: upsert.type === "append" });
    }
    await this.applyStatuses(config, byStatus);
    return received;
  }

  /** Bytes of an incoming message's media, downloaded (and decrypted) from WhatsApp. */
  async incomingMedia(socket: WASocket | undefined, messageId: string): Promise<FetchedMedia | null> {
    const row = this.sql.exec<{ wa_message: string }>("SELECT wa_message FROM inbound_media WHERE message_id = ?", messageId).toArray()[0];
    if (!row) return null;
    const msg = JSON.parse(row.wa_message, BufferJSON.reviver) as WAMessage;
    const bytes = await downloadMediaMessage(msg, "buffer", {}, socket ? { reuploadRequest: socket.updateMediaMessage, logger: undefined as never } : undefined);
    const described = describeMessage(msg);
    return { bytes: new Uint8Array(bytes), mimetype: described?.media?.mimetype ?? "application/octet-stream" };
  }

  private async storeIncoming(config: SessionConfig, msg: WAMessage, ownPhone: string | null): Promise<Omit<ReceivedMessage, "offline"> | null> {
    const described = describeMessage(msg);
    const chat = msg.key.remoteJid ?? "";
    if (!described || !msg.key.id || chat === "status@broadcast") return null;
    const isGroup = chat.endsWith("@g.us");
    const senderJid = isGroup ? (msg.key.participant ?? "") : chat;
    const from = jidToPhone(senderJid) ?? senderJid.split("@")[0];
    const at = msg.messageTimestamp ? toTimestamp(Number(msg.messageTimestamp) * 1000) : now();
    const row = await insertIncomingMessage(database(this.env), {
      accountId: config.accountId,
      whatsappSessionId: config.id,
      providerMessageId: msg.key.id,
      fromNumber: from,
      toNumber: ownPhone ?? "",
      type: described.type,
      content: described.content,
      payload: { ...described.payload, chat_id: chat, chat_type: isGroup ? "group" : "contact", push_name: msg.pushName ?? null },
      metadata: described.media ? { media: described.media } : null,
      receivedAtIso: at,
    });
    if (!row) return null; // already stored (a redelivery)
    if (described.media) {
      this.sql.exec(
        "INSERT OR REPLACE INTO inbound_media (message_id, wa_message, created_at) VALUES (?, ?, ?)",
        row.id,
        JSON.stringify(msg, BufferJSON.replacer),
        Date.now(),
      );
    }
    await emitMessageEvent(this.env, "message.received", row, { chat_id: chat, chat_type: isGroup ? "group" : "contact", push_name: msg.pushName ?? null });
    return { row, chat, isGroup, pushName: msg.pushName ?? null };
  }

  private async applyStatuses(config: SessionConfig, byStatus: Map<number, string[]>): Promise<void> {
    const db = database(this.env);
    for (const [status, ids] of byStatus) {
      if (status === STATUS_ERROR) {
        for (const id of ids) {
          const row = await db
            .select()
            .from(messages)
            .where(and(eq(messages.whatsappSessionId, config.id), eq(messages.providerMessageId, id)))
            .get();
          // WhatsApp refused a message it had acked as sent.
          if (row) await this.fail(row.id, "rejected_by_whatsapp", [...PENDING_STATUSES, "sent"]);
        }
        continue;
      }
      if (status < STATUS_DELIVERED) continue;
      const target = status >= STATUS_READ ? "read" : "delivered";
      const rows = await markMessagesByProvider(db, config.id, ids, target, now());
      for (const row of rows) await emitMessageEvent(this.env, row.status === "read" ? "message.read" : "message.delivered", row);
    }
  }

  private async onWhatsApp(socket: WASocket, phone: string): Promise<boolean> {
    const cached = this.sql
      .exec<{ on_whatsapp: number; checked_at: number }>("SELECT on_whatsapp, checked_at FROM contacts WHERE phone = ?", phone)
      .toArray()[0];
    if (cached && Date.now() - cached.checked_at < CONTACT_TTL_MS) return cached.on_whatsapp === 1;
    const [result] = (await socket.onWhatsApp(phoneToJid(phone))) ?? [];
    const exists = Boolean(result?.exists);
    this.sql.exec("INSERT OR REPLACE INTO contacts (phone, on_whatsapp, checked_at) VALUES (?, ?, ?)", phone, exists ? 1 : 0, Date.now());
    return exists;
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
    const outgoing = row.direction === "outgoing";
    return {
      providerMessageId: row.providerMessageId,
      fromMe: outgoing,
      chat: (outgoing ? row.toNumber : row.fromNumber) ?? "",
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

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
