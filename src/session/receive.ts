import { BufferJSON, proto, type BaileysEventMap, type WAMessage, type WASocket } from "baileys";
import { database } from "../db/client";
import { insertIncomingMessage } from "../db/messages.incoming";
import { emitMessageEvent } from "../events/message-events";
import { jidToPhone } from "../domain/phone";
import { now, toTimestamp } from "../domain/time";
import type { ReceivedMessage } from "./auto-reply";
import { describeMessage } from "./incoming";
import { downloadIncomingMedia, mediaFailure } from "./incoming-media";
import type { FetchedMedia } from "./message-content";
import { receiptsInUpsert, type Receipts } from "./receipts";
import type { SessionConfig } from "./session.types";

// Incoming messages: a contact's message becomes an incoming D1 row and a `message.received`
// event (once: a redelivery is recognised by its WhatsApp id); its media is kept so the API can
// download it later. What a message is comes from incoming.ts (pure).

export class MessageReceiver {
  constructor(
    private readonly env: Env,
    private readonly sql: SqlStorage,
    private readonly receipts: Receipts,
  ) {}

  /**
   * New messages: contacts' messages are stored as incoming; our own carry receipts merged in.
   * Returns the messages stored now (not redeliveries), for the bot.
   */
  async onUpsert(config: SessionConfig, upsert: BaileysEventMap["messages.upsert"], ownPhone: string | null): Promise<ReceivedMessage[]> {
    const received: ReceivedMessage[] = [];
    for (const msg of upsert.messages) {
      if (msg.key.fromMe) continue;
      if (upsert.type !== "notify" && upsert.type !== "append") continue;
      const stored = await this.storeIncoming(config, msg, ownPhone);
      if (stored) received.push({ ...stored, offline: upsert.type === "append" });
    }
    await this.receipts.apply(config, receiptsInUpsert(upsert));
    return received;
  }

  /** Bytes of an incoming message's media, downloaded (and decrypted) from WhatsApp. */
  async incomingMedia(socket: WASocket | undefined, messageId: string): Promise<FetchedMedia | null> {
    const row = this.sql.exec<{ wa_message: string }>("SELECT wa_message FROM inbound_media WHERE message_id = ?", messageId).toArray()[0];
    if (!row) return null;
    // Back to a proto: the stored JSON has its bytes (the media key) as base64 strings, which the
    // download accepts but the media retry request would derive a wrong key from.
    const msg = proto.WebMessageInfo.fromObject(JSON.parse(row.wa_message, BufferJSON.reviver)) as WAMessage;
    const { bytes, reuploaded } = await downloadIncomingMedia(socket, msg).catch((err) => {
      throw mediaFailure(err);
    });
    if (reuploaded) this.sql.exec("UPDATE inbound_media SET wa_message = ? WHERE message_id = ?", JSON.stringify(reuploaded, BufferJSON.replacer), messageId);
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
}
