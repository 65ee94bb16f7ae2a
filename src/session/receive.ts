import { BufferJSON, getContentType, normalizeMessageContent, proto, type BaileysEventMap, type WAMessage, type WASocket } from "baileys";
import { database } from "../db/client";
import { insertIncomingMessage } from "../db/messages.incoming";
import { emitMessageEvent } from "../events/message-events";
import { now, toTimestamp } from "../domain/time";
import type { ReceivedMessage } from "./auto-reply";
import { lidOf } from "./groups.view";
import { describeMessage } from "./incoming";
import { downloadIncomingMedia, mediaFailure } from "./incoming-media";
import type { FetchedMedia } from "./message-content";
import { addressOf, nameOf, type LidLookup } from "./jid-numbers";
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
  async onUpsert(
    config: SessionConfig,
    upsert: BaileysEventMap["messages.upsert"],
    ownPhone: string | null,
    /** The session's own LID (to know a mention of it), and LID → number as Baileys knows it. */
    ids: OwnIds = { ownLid: null, lookup: async () => null },
  ): Promise<ReceivedMessage[]> {
    const received: ReceivedMessage[] = [];
    for (const msg of upsert.messages) {
      if (msg.key.fromMe) continue;
      if (upsert.type !== "notify" && upsert.type !== "append") continue;
      const stored = await this.storeIncoming(config, msg, ownPhone, ids);
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

  private async storeIncoming(config: SessionConfig, msg: WAMessage, ownPhone: string | null, ids: OwnIds): Promise<Omit<ReceivedMessage, "offline"> | null> {
    const described = describeMessage(msg);
    const chat = msg.key.remoteJid ?? "";
    if (!described || !msg.key.id || chat === "status@broadcast") return null;
    // Numbers first, LIDs beside them (jid-numbers.ts); a 1:1 chat by LID is named by the number.
    const { isGroup, chatId, fromNumber: from, fromLid, chatLid } = await addressOf(ids.lookup, msg.key);
    const who = { chat: chatId, author: from, ...(from ? {} : { author_lid: fromLid }) };
    const { mentions_me, ...mentions } = await mentionsOf(msg, ownPhone, ids);
    const at = msg.messageTimestamp ? toTimestamp(Number(msg.messageTimestamp) * 1000) : now();
    const row = await insertIncomingMessage(database(this.env), {
      accountId: config.accountId,
      whatsappSessionId: config.id,
      providerMessageId: msg.key.id,
      fromNumber: from,
      toNumber: ownPhone ?? "",
      fromLid,
      chatLid,
      type: described.type,
      content: described.content,
      payload: { ...described.payload, chat_id: chatId, chat_type: isGroup ? "group" : "contact", push_name: msg.pushName ?? null, ...who, ...mentions },
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
    await emitMessageEvent(this.env, "message.received", row, { chat_id: chatId, chat_type: isGroup ? "group" : "contact", push_name: msg.pushName ?? null, ...who, ...mentions, mentions_me });
    return { row, chat, isGroup, pushName: msg.pushName ?? null };
  }
}

/** The session's own LID, and how to map a LID to its number. */
export interface OwnIds {
  ownLid: string | null;
  lookup: LidLookup;
}

/**
 * Who a message @mentions, as phone numbers (`mentions`; LIDs whose number is unknown apart in
 * `mentions_lid`), and whether the session is one of them (`mentions_me`, for the webhooks'
 * `mentions: ["me"]`). In LID-addressed groups mentions are LIDs: mapped like group members.
 */
export async function mentionsOf(msg: WAMessage, ownPhone: string | null, ids: OwnIds): Promise<{ mentions?: string[]; mentions_lid?: string[]; mentions_me: boolean }> {
  const jids = mentionedJids(msg);
  if (!jids.length) return { mentions_me: false };
  const named = await Promise.all(jids.map((j) => nameOf(ids.lookup, j)));
  const numbers = named.flatMap((m) => (m.number ? [m.number] : []));
  const lids = named.flatMap((m) => (!m.number && m.lid ? [m.lid] : []));
  const ownLid = lidOf(ids.ownLid ?? undefined);
  const me = (ownPhone !== null && numbers.includes(ownPhone)) || named.some((m) => ownLid !== null && m.lid === ownLid);
  return { mentions: numbers, ...(lids.length ? { mentions_lid: lids } : {}), mentions_me: me };
}

function mentionedJids(msg: WAMessage): string[] {
  const message = normalizeMessageContent(msg.message);
  const kind = message ? getContentType(message) : undefined;
  const content = kind ? (message![kind] as { contextInfo?: { mentionedJid?: string[] | null } } | undefined) : undefined;
  return content?.contextInfo?.mentionedJid ?? [];
}
