import type { WASocket } from "baileys";
import { database } from "../db/client";
import { findMessage, pendingMessageIds } from "../db/messages.query";
import { PENDING_STATUSES, type MessageStatus } from "../db/messages.rows";
import { failMessages, markMessageSent } from "../db/messages.status";
import { emitMessageEvent } from "../events/message-events";
import { chatJid, phoneToJid } from "../domain/phone";
import { now } from "../domain/time";
import { log } from "../platform/log";
import { downloadMedia, MediaDownloadError } from "./media-download";
import { buildMessage, type FetchedMedia, type MessageRef } from "./message-content";
import type { OutboxEntry } from "./outbox";
import type { OutboxItem } from "../domain/outbox-item";
import type { SessionConfig } from "./session.types";

// Sends outbox entries through Baileys: checks the number is on WhatsApp (cached), resolves
// replies and reactions, fetches media, and records the outcome in D1 with its webhook event.
// What WhatsApp says back is receipts.ts; incoming messages are receive.ts.

export type SendOutcome = "sent" | "failed" | "retry" | "skipped";

const MAX_ATTEMPTS = 3;
// A number's WhatsApp presence is re-checked after this long.
const CONTACT_TTL_MS = 24 * 60 * 60_000;

/** A failure that retrying cannot fix. */
class PermanentFailure extends Error {}

/** Final failure: the row becomes `failed` with its cost refunded (once), and subscribers hear of it. */
export async function failMessage(env: Env, messageId: string, reason: string, statuses: readonly MessageStatus[] = PENDING_STATUSES): Promise<void> {
  const [row] = await failMessages(database(env), [messageId], reason, statuses);
  if (row) await emitMessageEvent(env, "message.failed", row);
}

export class MessageSender {
  /** Over the session object's SQLite, once its schema ran (session.schema.ts). */
  constructor(
    private readonly env: Env,
    private readonly sql: SqlStorage,
  ) {}

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
      log.warn({ message: item.messageId, attempt: entry.attempts, err }, "send failed, will retry");
      return "retry";
    }
    const row = await markMessageSent(database(this.env), item.messageId, entry.waId, now());
    if (row) await emitMessageEvent(this.env, "message.sent", row);
    return "sent";
  }

  /** Final failure: the row becomes `failed` with its cost refunded (once), and subscribers hear of it. */
  async fail(messageId: string, reason: string): Promise<void> {
    await failMessage(this.env, messageId, reason);
  }

  async revoke(socket: WASocket, to: string, providerMessageId: string): Promise<void> {
    await socket.sendMessage(chatJid(to), { delete: { remoteJid: chatJid(to), fromMe: true, id: providerMessageId } });
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
