import { Buffer } from "node:buffer";
import { deflateSync } from "node:zlib";
import { proto } from "baileys/WAProto/index.js";
import { toBuffer } from "./crypto";
import type { ServerConnection } from "./connection";
import { SandboxError } from "./errors";
import { resolveUser } from "./iq.handlers";
import { parseReceiptPolicy } from "./phones";
import type { SandboxWorld } from "./sandbox.world";
import { PhoneSignalStore, addressOf, decryptFrom, encryptFor, hasOpenSession, startSession } from "./signal.store";
import { type BinaryNode, bytesOf, child, children, messageId, node, parseJid, pnJid, serverId, unixNow } from "./stanzas";
import type { CompanionRow, MessageRow, PhoneRow } from "./world.store";

export interface MessageContent {
  type: string;
  text: string | null;
  caption: string | null;
  media_sha256: string | null;
  mimetype: string | null;
}

/** What an inbox shows of a decrypted proto.Message. */
export function describeMessage(m: proto.IMessage): MessageContent {
  const media = m.imageMessage ?? m.videoMessage ?? m.audioMessage ?? m.documentMessage ?? m.stickerMessage;
  const kind = m.imageMessage ? "image" : m.videoMessage ? "video" : m.audioMessage ? "audio" : m.documentMessage ? "document" : m.stickerMessage ? "sticker" : undefined;
  if (media && kind) {
    return {
      type: kind,
      text: null,
      caption: ("caption" in media ? media.caption : null) ?? null,
      media_sha256: media.fileSha256 ? toBuffer(media.fileSha256).toString("base64") : null,
      mimetype: media.mimetype ?? null,
    };
  }
  const text = m.conversation ?? m.extendedTextMessage?.text;
  if (text != null) return { type: "text", text, caption: null, media_sha256: null, mimetype: null };
  const other = Object.keys(m).find((k) => k !== "messageContextInfo") ?? "unknown";
  return { type: other.replace(/Message$/, ""), text: null, caption: null, media_sha256: null, mimetype: null };
}

/**
 * A message the linked client sends: decrypt every copy addressed to a simulated phone with that
 * phone's real Signal keys, store it in the inbox, ack, then receipts per the contact's policy.
 */
export async function handleClientMessage(world: SandboxWorld, conn: ServerConnection, stanza: BinaryNode): Promise<void> {
  const sender = conn.account!;
  const id = stanza.attrs.id;
  const chatJid = stanza.attrs.to;
  const toNodes = children(child(stanza, "participants"), "to");
  const direct = child(stanza, "enc");
  const copies: { jid: string; enc: BinaryNode }[] = toNodes.flatMap((t) => children(t, "enc").map((enc) => ({ jid: t.attrs.jid, enc })));
  if (direct) copies.push({ jid: chatJid, enc: direct });
  const chatOwner = resolveUser(world, chatJid);
  const recipients = new Set<string>();
  for (const { jid, enc } of copies) {
    const target = parseJid(jid);
    const phone = target && resolveUser(world, jid);
    if (!target || !phone) continue;
    if (target.device !== 0) {
      // Another companion (a second linked session): forward the ciphertext as the server would.
      forwardToCompanion(world, sender, phone, target.device, stanza, enc, chatJid);
      continue;
    }
    try {
      const store = new PhoneSignalStore(world.store, phone);
      const plain = await decryptFrom(store, addressOf(sender.phone, sender.device), enc.attrs.type, bytesOf(enc)!);
      let msg = proto.Message.decode(plain);
      const fromMe = phone.phone === sender.phone;
      if (msg.deviceSentMessage?.message) msg = proto.Message.create(msg.deviceSentMessage.message);
      if (msg.protocolMessage || msg.senderKeyDistributionMessage && Object.keys(msg).length === 1) continue;
      const content = describeMessage(msg);
      world.store.upsertMessage({
        owner: phone.phone,
        id,
        direction: fromMe ? "out" : "in",
        peer: fromMe ? (chatOwner?.phone ?? (parseJid(chatJid)?.user ?? chatJid)) : sender.phone,
        chat_jid: fromMe ? chatJid : jid.replace(/:\d+@/, "@"),
        from_device: sender.device,
        ...content,
        timestamp: Date.now(),
        delivered_at: null,
        read_at: null,
      });
      if (!fromMe) recipients.add(phone.phone);
      world.log("message_decrypted", { id, to: phone.phone, from: sender.phone, type: content.type });
    } catch (err) {
      world.log("decrypt_failed", { id, to: jid, error: String(err) });
    }
  }
  await world.ackMessage(conn, stanza);
  for (const phone of recipients) world.scheduleAutoReceipts(phone, id);
}

function forwardToCompanion(world: SandboxWorld, sender: { phone: string; device: number }, phone: PhoneRow, device: number, stanza: BinaryNode, enc: BinaryNode, chatJid: string): void {
  const fromMe = phone.phone === sender.phone;
  const attrs: Record<string, string> = { from: pnJid(sender.phone, sender.device), id: stanza.attrs.id, t: String(unixNow()), type: stanza.attrs.type ?? "text" };
  if (fromMe) attrs.recipient = chatJid;
  world.deliver(phone.phone, device, node("message", attrs, [enc]));
}

/** A simulated phone sends a text to a linked number: Signal-encrypted to each of its companions. */
export async function sendFromPhone(world: SandboxWorld, from: PhoneRow, to: PhoneRow, message: proto.IMessage): Promise<{ id: string; devices: number }> {
  const id = messageId();
  const ts = unixNow();
  const store = new PhoneSignalStore(world.store, from);
  const plain = toBuffer(proto.Message.encode(message).finish());
  const companions = world.store.activeCompanions(to.phone);
  for (const c of companions) {
    const enc = await encryptToCompanion(world, store, c, plain);
    world.deliver(c.phone, c.device, node("message", { from: pnJid(from.phone), sender_lid: `${from.lid}@lid`, id, t: String(ts), type: "text", notify: from.name }, [
      node("enc", { v: "2", type: enc.type }, enc.ciphertext),
    ]));
  }
  const content = describeMessage(message);
  const row: Omit<MessageRow, "owner" | "direction" | "peer" | "chat_jid"> = { id, from_device: 0, ...content, timestamp: ts * 1000, delivered_at: null, read_at: null };
  world.store.upsertMessage({ ...row, owner: from.phone, direction: "out", peer: to.phone, chat_jid: pnJid(to.phone) });
  if (to.phone !== from.phone) world.store.upsertMessage({ ...row, owner: to.phone, direction: "in", peer: from.phone, chat_jid: pnJid(from.phone) });
  return { id, devices: companions.length };
}

/** Encrypts with an existing session, or starts one from the companion's uploaded prekeys (→ pkmsg). */
async function encryptToCompanion(world: SandboxWorld, store: PhoneSignalStore, c: CompanionRow, plain: Buffer) {
  const addr = addressOf(c.phone, c.device);
  if (!(await hasOpenSession(store, addr))) {
    const fresh = world.store.companion(c.phone, c.device)!;
    const oneTime = world.store.takeCompanionPrekey(c.phone, c.device);
    await startSession(store, addr, {
      registrationId: fresh.reg_id,
      identityKey: fresh.identity_pub,
      signedPreKey: { keyId: fresh.skey_id, publicKey: fresh.skey_pub, signature: fresh.skey_sig },
      preKey: oneTime && { keyId: oneTime.key_id, publicKey: oneTime.pub },
    });
    // The real server tells a device its prekey count after one is consumed.
    if (oneTime) world.deliver(c.phone, c.device, node("notification", { from: "s.whatsapp.net", type: "encrypt", id: serverId(), t: String(unixNow()) }, [
      node("count", { value: String(world.store.companionPrekeyCount(c.phone, c.device)) }),
    ]));
  }
  return encryptFor(store, addr, plain);
}

/**
 * The phone's INITIAL_BOOTSTRAP history sync (inline payload), sent to a newly linked companion so
 * the client stops waiting for history; its push name tells the client the account's display name.
 */
export async function pushHistorySync(world: SandboxWorld, phone: PhoneRow, c: CompanionRow): Promise<void> {
  const contacts = world.store.phones().filter((p) => p.phone !== phone.phone);
  const history = proto.HistorySync.encode({
    syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
    conversations: [],
    pushnames: [{ id: pnJid(phone.phone), pushname: phone.name }],
    phoneNumberToLidMappings: [phone, ...contacts].map((p) => ({ pnJid: pnJid(p.phone), lidJid: `${p.lid}@lid` })),
    progress: 100,
    chunkOrder: 0,
  }).finish();
  const payload = deflateSync(history);
  const message = proto.Message.encode({
    protocolMessage: {
      type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
      historySyncNotification: {
        syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
        initialHistBootstrapInlinePayload: payload,
        chunkOrder: 0,
        progress: 100,
        fileLength: history.length,
      },
    },
  }).finish();
  const store = new PhoneSignalStore(world.store, phone);
  const enc = await encryptToCompanion(world, store, c, toBuffer(message));
  world.deliver(c.phone, c.device, node("message", { from: pnJid(phone.phone), id: messageId(), t: String(unixNow()), type: "text", category: "peer", notify: phone.name }, [
    node("enc", { v: "2", type: enc.type }, enc.ciphertext),
  ]));
}

/** Receipts a phone sends for messages it received, to every device of the sender. */
export function sendPhoneReceipts(world: SandboxWorld, owner: PhoneRow, ids: string[], type: "delivered" | "read"): { id: string; sent: boolean }[] {
  const results: { id: string; sent: boolean }[] = [];
  const bySender = new Map<string, { chatJid: string; ids: string[] }>();
  const now = Date.now();
  for (const id of ids) {
    const m = world.store.message(owner.phone, id, "in");
    if (!m) throw new SandboxError(`phone ${owner.phone} has no received message ${id}`, 404);
    if (type === "read" && !m.delivered_at) world.store.markMessage(owner.phone, id, "in", "delivered_at", now);
    world.store.markMessage(owner.phone, id, "in", type === "read" ? "read_at" : "delivered_at", now);
    // Only messages that came from a linked device have someone to tell.
    if (m.from_device === 0) {
      results.push({ id, sent: false });
      continue;
    }
    const entry = bySender.get(m.peer) ?? { chatJid: m.chat_jid, ids: [] };
    entry.ids.push(id);
    bySender.set(m.peer, entry);
    results.push({ id, sent: true });
  }
  for (const [peer, { ids: list }] of bySender) {
    const from = pnJid(owner.phone);
    const attrs = { from, id: list[0], t: String(unixNow()), type: type === "read" ? "read" : undefined };
    const content = list.length > 1 ? [node("list", {}, list.slice(1).map((id) => node("item", { id })))] : undefined;
    for (const c of world.store.activeCompanions(peer)) world.deliver(c.phone, c.device, node("receipt", attrs, content));
  }
  return results;
}

/** The client's receipts for what a phone sent it: recorded on the phone's sent message, then acked. */
export function handleClientReceipt(world: SandboxWorld, conn: ServerConnection, receipt: BinaryNode): void {
  const target = resolveUser(world, receipt.attrs.to ?? "");
  const ids = [receipt.attrs.id, ...children(child(receipt, "list"), "item").map((i) => i.attrs.id)];
  const type = receipt.attrs.type;
  if (target && conn.account && (!type || type === "inactive" || type === "read" || type === "read-self")) {
    const now = Date.now();
    for (const id of ids) {
      const m = world.store.message(target.phone, id, "out");
      if (!m || m.peer !== conn.account.phone) continue;
      world.store.markMessage(target.phone, id, "out", "delivered_at", now);
      if (type === "read") world.store.markMessage(target.phone, id, "out", "read_at", now);
    }
  }
  const ack: Record<string, string | undefined> = { id: receipt.attrs.id, class: "receipt", from: receipt.attrs.to, type };
  conn.send(node("ack", ack));
}

export const receiptPolicyOf = (p: PhoneRow) => parseReceiptPolicy(JSON.parse(p.receipt_policy));
