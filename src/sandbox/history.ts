import { Buffer } from "node:buffer";
import { deflateSync } from "node:zlib";
import { proto } from "baileys/WAProto/index.js";
import { savedName } from "./address-book";
import { type MediaRef, type MediaType, parseExtra } from "./content";
import { toBuffer } from "./crypto";
import { isGroupJid } from "./groups";
import { encryptMedia } from "./media";
import { encryptToCompanion } from "./phone-side";
import type { ServerCore } from "./server.core";
import { PhoneSignalStore } from "./signal.store";
import { messageId, node, pnJid, unixNow } from "./stanzas";
import type { CompanionRow, MessageRow, PhoneRow } from "./world.store";

// The primary phone's history sync to a newly linked device, as real phones send it: each part a
// HistorySync proto, zlib-deflated, encrypted as media type `md-msg-hist` and uploaded to the media
// host; the device gets a HISTORY_SYNC_NOTIFICATION (directPath, mediaKey, hashes, length, syncType,
// chunkOrder, progress) and downloads it (Baileys Utils/history.js downloadHistory; whatsmeow
// message.go DownloadHistorySync). Parts: INITIAL_BOOTSTRAP (every chat, its latest messages,
// PN↔LID mappings), PUSH_NAME (contacts' names), RECENT (older messages, chunked, progress to 100).

type HistorySyncType = proto.HistorySync.HistorySyncType;
const SyncType = proto.HistorySync.HistorySyncType;

/** Messages per chat in the bootstrap; older ones go in RECENT chunks. */
const BOOTSTRAP_MESSAGES = 20;
/** Messages per RECENT chunk (a phone splits its history into blobs of bounded size). */
const RECENT_CHUNK_MESSAGES = 2000;

interface Chat {
  jid: string;
  name: string | null;
  /** Newest first, as phones send them (Baileys keeps the first as the chat's last message). */
  rows: MessageRow[];
}

/** The phone's key share comes first (appstate.keys.ts); then its history, part by part. */
export async function pushHistorySync(core: ServerCore, phone: PhoneRow, c: CompanionRow): Promise<void> {
  const chats = chatsOf(core, phone);
  const contacts = core.store.phones().filter((p) => p.phone !== phone.phone);
  const mappings = [phone, ...contacts].map((p) => ({ pnJid: pnJid(p.phone), lidJid: `${p.lid}@lid` }));
  const convo = (chat: Chat, rows: MessageRow[]): proto.IConversation => ({
    id: chat.jid,
    name: chat.name ?? undefined,
    conversationTimestamp: Math.floor((chat.rows[0]?.timestamp ?? 0) / 1000),
    unreadCount: 0,
    messages: rows.map((r, i) => ({ message: webMessage(core, phone, chat.jid, r), msgOrderId: rows.length - i })),
  });
  const recent = chats.filter((ch) => ch.rows.length > BOOTSTRAP_MESSAGES);
  const recentRows = recent.reduce((n, ch) => n + ch.rows.length - BOOTSTRAP_MESSAGES, 0);
  const chunks = Math.max(1, Math.ceil(recentRows / RECENT_CHUNK_MESSAGES));
  const parts: { type: HistorySyncType; sync: proto.IHistorySync }[] = [
    { type: SyncType.INITIAL_BOOTSTRAP, sync: { conversations: chats.map((ch) => convo(ch, ch.rows.slice(0, BOOTSTRAP_MESSAGES))), phoneNumberToLidMappings: mappings } },
    { type: SyncType.PUSH_NAME, sync: { pushnames: [phone, ...contacts.filter((p) => knows(core, phone, chats, p.phone))].map((p) => ({ id: pnJid(p.phone), pushname: p.name })) } },
  ];
  // RECENT: older messages chat by chat, cut into chunks; the last one reports progress 100.
  let chunk: proto.IConversation[] = [];
  let size = 0;
  const flush = () => {
    parts.push({ type: SyncType.RECENT, sync: { conversations: chunk } });
    chunk = [];
    size = 0;
  };
  for (const ch of recent) {
    const older = ch.rows.slice(BOOTSTRAP_MESSAGES);
    for (let i = 0; i < older.length; ) {
      const take = older.slice(i, i + RECENT_CHUNK_MESSAGES - size);
      chunk.push(convo(ch, take));
      size += take.length;
      i += take.length;
      if (size >= RECENT_CHUNK_MESSAGES) flush();
    }
  }
  if (chunk.length || !parts.some((p) => p.type === SyncType.RECENT)) flush();
  const store = new PhoneSignalStore(core.store, phone);
  let recentSeen = 0;
  for (const [order, part] of parts.entries()) {
    const progress = part.type === SyncType.RECENT ? Math.round((++recentSeen / chunks) * 100) : undefined;
    await sendPart(core, store, phone, c, part.type, part.sync, order, Math.min(progress ?? 100, 100));
  }
}

/** One part: deflate, encrypt as `md-msg-hist`, upload, then the notification to the device. */
async function sendPart(core: ServerCore, store: PhoneSignalStore, phone: PhoneRow, c: CompanionRow, syncType: HistorySyncType, sync: proto.IHistorySync, chunkOrder: number, progress: number): Promise<void> {
  const plain = deflateSync(proto.HistorySync.encode({ ...sync, syncType, chunkOrder, progress }).finish());
  const enc = await encryptMedia(plain, "md-msg-hist" as MediaType);
  const { directPath } = core.media.put(enc.file, "md-msg-hist", `${phone.phone}:0`);
  const id = messageId();
  const message = proto.Message.encode({
    protocolMessage: {
      type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
      historySyncNotification: {
        syncType,
        chunkOrder,
        progress,
        directPath,
        mediaKey: enc.mediaKey,
        fileSha256: enc.fileSha256,
        fileEncSha256: enc.fileEncSha256,
        fileLength: enc.fileLength,
        // No originalMessageId: it names the request an ON_DEMAND part answers; these answer none.
      },
    },
  }).finish();
  const e = await encryptToCompanion(core, store, c, toBuffer(message));
  core.deliver(c.phone, c.device, node("message", { from: pnJid(phone.phone), id, t: String(unixNow()), type: "text", category: "peer", notify: phone.name }, [
    node("enc", { v: "2", type: e.type }, e.ciphertext),
  ]));
  core.log("history_sync_sent", { phone: phone.phone, device: c.device, session: c.session_id, id, sync_type: SyncType[syncType], chunk_order: chunkOrder, progress, bytes: enc.file.length, conversations: sync.conversations?.length ?? 0 });
}

/** The phone's chats from its inbox, most recent chat first. */
function chatsOf(core: ServerCore, phone: PhoneRow): Chat[] {
  const byChat = new Map<string, MessageRow[]>();
  for (const m of core.store.messages(phone.phone)) {
    if (m.type === "reaction" || (!m.text && !m.caption && !m.media_ref && m.type === "text")) continue;
    const jid = isGroupJid(m.chat_jid) ? m.chat_jid : pnJid(m.peer);
    const rows = byChat.get(jid);
    if (rows) rows.push(m);
    else byChat.set(jid, [m]);
  }
  return [...byChat.entries()]
    .map(([jid, rows]) => ({
      jid,
      // A person's chat carries the name the phone saved (its address book); push names come in PUSH_NAME.
      name: isGroupJid(jid) ? (core.groups.group(jid)?.subject ?? null) : (savedName(core, phone.phone, jid.split("@")[0]) ?? null),
      rows: rows.reverse(),
    }))
    .sort((a, b) => b.rows[0].timestamp - a.rows[0].timestamp);
}

/** Whether the phone has seen `other`'s push name: a chat with them, a group with them, or its address book. */
function knows(core: ServerCore, phone: PhoneRow, chats: Chat[], other: string): boolean {
  return chats.some((ch) => (isGroupJid(ch.jid) ? core.groups.members(ch.jid).some((m) => m.phone === other) : core.resolveUser(ch.jid)?.phone === other)) || savedName(core, phone.phone, other) !== undefined;
}

/** An inbox row as the WebMessageInfo a phone keeps: key, content, timestamp, sender's name. */
function webMessage(core: ServerCore, phone: PhoneRow, chatJid: string, m: MessageRow): proto.IWebMessageInfo {
  const fromMe = m.direction === "out";
  const group = isGroupJid(chatJid);
  const sender = fromMe ? phone : core.store.phone(m.peer);
  return {
    key: { remoteJid: chatJid, fromMe, id: m.id, participant: group && !fromMe ? pnJid(m.peer) : undefined },
    message: contentOf(m),
    messageTimestamp: Math.floor(m.timestamp / 1000),
    status: fromMe ? (m.read_at ? proto.WebMessageInfo.Status.READ : m.delivered_at ? proto.WebMessageInfo.Status.DELIVERY_ACK : proto.WebMessageInfo.Status.SERVER_ACK) : undefined,
    pushName: fromMe ? undefined : sender?.name,
  };
}

/** Text, media (with its keys and path) or a location; anything else as its text. */
function contentOf(m: MessageRow): proto.IMessage {
  const extra = parseExtra(m.extra);
  if (m.media_ref) {
    const ref = JSON.parse(m.media_ref) as MediaRef;
    const media = {
      url: ref.url,
      directPath: ref.direct_path,
      mediaKey: Buffer.from(ref.media_key, "base64"),
      fileEncSha256: ref.file_enc_sha256 ? Buffer.from(ref.file_enc_sha256, "base64") : undefined,
      fileSha256: ref.file_sha256 ? Buffer.from(ref.file_sha256, "base64") : undefined,
      fileLength: extra.file_length ?? undefined,
      mimetype: m.mimetype,
    };
    const caption = m.caption ?? undefined;
    switch (ref.media_type) {
      case "image":
        return { imageMessage: { ...media, caption } };
      case "video":
        return { videoMessage: { ...media, caption } };
      case "audio":
        return { audioMessage: { ...media, ptt: extra.ptt ?? undefined } };
      case "sticker":
        return { stickerMessage: media };
      default:
        return { documentMessage: { ...media, caption, fileName: extra.file_name ?? undefined } };
    }
  }
  if (extra.location) return { locationMessage: { degreesLatitude: extra.location.latitude, degreesLongitude: extra.location.longitude, name: extra.location.name, address: extra.location.address } };
  return { conversation: m.text ?? m.caption ?? "" };
}
