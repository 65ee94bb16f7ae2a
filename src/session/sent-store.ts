import { areJidsSameUser, proto } from "baileys";
import { Buffer } from "node:buffer";

// The content of each message this session sent, kept in the object's SQLite so Baileys can
// send it again when a recipient's device could not decrypt it and asks with a retry receipt
// (Baileys Socket/messages-recv.js sendMessagesAgain → config.getMessage). Baileys' own cache
// is in memory and dies with the object; this one survives restarts and evictions. One
// instance per session object, shared by the sender (save, forget) and the socket (get).

// Devices ask for a resend when they come online; WhatsApp keeps undelivered messages on its
// servers for up to 30 days (docs/protocol/sending.md), so a day more than that.
export const SENT_KEPT_MS = 31 * 24 * 60 * 60_000;
const PRUNE_EVERY_MS = 60 * 60_000;

export interface SentMessage {
  chatJid: string;
  message: proto.IMessage;
}

/**
 * Whether a resend request from `askerJid` (a retry receipt's chat, a LID already mapped to its PN)
 * may get a message sent to `chatJid`: the same group, or the same user on any device.
 */
export function resendAllowed(chatJid: string, askerJid: string | undefined): boolean {
  if (!askerJid) return false;
  return chatJid.endsWith("@g.us") ? askerJid === chatJid : areJidsSameUser(askerJid, chatJid);
}

export class SentStore {
  private prunedAt = 0;

  /** Over the session object's SQLite, once its schema ran (session.schema.ts). */
  constructor(private readonly sql: SqlStorage) {}

  /** Keeps the content sent under this WhatsApp message id (a resend of the same id replaces it). */
  save(waId: string, chatJid: string, message: proto.IMessage, now = Date.now()): void {
    const content = Buffer.from(proto.Message.encode(message).finish()).toString("base64");
    this.sql.exec(
      "INSERT INTO sent_messages (wa_id, chat_jid, content, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(wa_id) DO UPDATE SET chat_jid = excluded.chat_jid, content = excluded.content",
      waId,
      chatJid,
      content,
      now,
    );
    this.prune(now);
  }

  /** The content sent under this id and its chat, or undefined when never sent (or older than SENT_KEPT_MS). */
  get(waId: string, now = Date.now()): SentMessage | undefined {
    const row = this.sql
      .exec<{ chat_jid: string; content: string }>("SELECT chat_jid, content FROM sent_messages WHERE wa_id = ? AND created_at >= ?", waId, now - SENT_KEPT_MS)
      .toArray()[0];
    return row ? { chatJid: row.chat_jid, message: proto.Message.decode(Buffer.from(row.content, "base64")) } : undefined;
  }

  /** Whether this id was ever written (the frame went out), whatever its ack. */
  has(waId: string): boolean {
    return this.sql.exec("SELECT 1 FROM sent_messages WHERE wa_id = ?", waId).toArray().length > 0;
  }

  /** The server refused the message: nobody will ask for it. */
  forget(waId: string): void {
    this.sql.exec("DELETE FROM sent_messages WHERE wa_id = ?", waId);
  }

  /** Drops what WhatsApp can no longer ask for; at most once an hour per instance unless `force`. */
  prune(now = Date.now(), force = false): void {
    if (!force && now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    this.sql.exec("DELETE FROM sent_messages WHERE created_at < ?", now - SENT_KEPT_MS);
  }
}
