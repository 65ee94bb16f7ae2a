import { Buffer } from "node:buffer";
import { deflateSync } from "node:zlib";
import { proto } from "baileys/WAProto/index.js";
import { type MediaRef, type MediaStatus, type MessageContent, describeMessage, parseExtra, unwrapMessage } from "./content";
import { toBuffer } from "./crypto";
import type { ServerConnection } from "./connection";
import { SandboxError } from "./errors";
import { decryptGroupMessage, encryptForGroup, isGroupJid, processGroupSenderKey } from "./groups";
import { decryptMedia } from "./media";
import { resolveUser } from "./iq.handlers";
import { parseReceiptPolicy } from "./phones";
import type { SandboxWorld } from "./sandbox.world";
import { PhoneSignalStore, addressOf, decryptFrom, encryptFor, hasOpenSession, startSession } from "./signal.store";
import { type BinaryNode, bytesOf, child, children, messageId, node, parseJid, pnJid, serverId, unixNow } from "./stanzas";
import type { CompanionRow, MessageRow, PhoneRow } from "./world.store";

/** Inbox row fields of a described message. */
export function rowFields(content: MessageContent) {
  return {
    type: content.type,
    text: content.text,
    caption: content.caption,
    media_sha256: content.media_sha256,
    mimetype: content.mimetype,
    extra: JSON.stringify(content.extra),
    media_ref: content.media ? JSON.stringify(content.media) : null,
  };
}

/** What a phone does on receiving media: fetch the file from the media store and check it all the way. */
export async function checkMedia(world: SandboxWorld, ref: MediaRef): Promise<{ status: MediaStatus; plain?: Buffer }> {
  const file = world.media.get(ref);
  if (!file) return { status: "missing" };
  return decryptMedia(file, ref);
}

/**
 * A message the linked client sends: decrypt every copy addressed to a simulated phone with that
 * phone's real Signal keys, store it in the inbox, ack, then receipts per the contact's policy.
 * Group messages: each member phone takes the sender key from its pkmsg copy and opens the skmsg.
 */
export async function handleClientMessage(world: SandboxWorld, conn: ServerConnection, stanza: BinaryNode): Promise<void> {
  const sender = conn.account!;
  const id = stanza.attrs.id;
  const chatJid = stanza.attrs.to;
  const group = isGroupJid(chatJid) ? world.groups.group(chatJid) : undefined;
  const toNodes = children(child(stanza, "participants"), "to");
  const direct = children(stanza, "enc");
  const skmsg = direct.find((e) => e.attrs.type === "skmsg");
  const copies: { jid: string; enc: BinaryNode }[] = toNodes.flatMap((t) => children(t, "enc").map((enc) => ({ jid: t.attrs.jid, enc })));
  if (!group) for (const enc of direct) copies.push({ jid: chatJid, enc });
  const chatOwner = group ? undefined : resolveUser(world, chatJid);
  const recipients = new Set<string>();
  const store = async (phone: PhoneRow, msg: proto.IMessage, jid: string) => {
    const fromMe = phone.phone === sender.phone;
    const content = describeMessage(msg);
    if (content.media) content.extra.media_status = (await checkMedia(world, content.media)).status;
    if (group) content.extra.participant = sender.phone;
    world.store.upsertMessage({
      owner: phone.phone,
      id,
      direction: fromMe ? "out" : "in",
      peer: group ? (fromMe ? group.jid : sender.phone) : fromMe ? (chatOwner?.phone ?? (parseJid(chatJid)?.user ?? chatJid)) : sender.phone,
      chat_jid: group ? group.jid : fromMe ? chatJid : jid.replace(/:\d+@/, "@"),
      from_device: sender.device,
      ...rowFields(content),
      timestamp: Date.now(),
      delivered_at: null,
      read_at: null,
    });
    if (!fromMe) recipients.add(phone.phone);
    world.log("message_decrypted", { id, to: phone.phone, from: sender.phone, type: content.type, group: group?.jid ?? null, media_status: content.extra.media_status });
  };
  const forwarded = new Map<string, BinaryNode>();
  for (const { jid, enc } of copies) {
    const target = parseJid(jid);
    const phone = target && resolveUser(world, jid);
    if (!target || !phone) continue;
    if (target.device !== 0) {
      // Another companion (a second linked session): forward the ciphertext as the server would.
      if (group) forwarded.set(`${phone.phone}:${target.device}`, enc);
      else forwardToCompanion(world, sender, phone, target.device, stanza, enc, chatJid);
      continue;
    }
    try {
      const keys = new PhoneSignalStore(world.store, phone);
      const plain = await decryptFrom(keys, addressOf(sender.phone, sender.device), enc.attrs.type, bytesOf(enc)!);
      let msg = proto.Message.decode(plain);
      if (msg.deviceSentMessage?.message) msg = proto.Message.create(msg.deviceSentMessage.message);
      const skdm = msg.senderKeyDistributionMessage;
      if (group && skdm?.axolotlSenderKeyDistributionMessage) {
        await processGroupSenderKey(world.store, phone.phone, group.jid, { user: sender.phone, device: sender.device }, skdm.axolotlSenderKeyDistributionMessage);
      }
      if (msg.protocolMessage) revoke(world, phone, msg.protocolMessage);
      if (group || msg.protocolMessage || isOnlySenderKey(msg)) continue;
      await store(phone, msg, jid);
    } catch (err) {
      world.log("decrypt_failed", { id, to: jid, error: String(err) });
    }
  }
  if (group && skmsg) {
    const ciphertext = bytesOf(skmsg)!;
    for (const m of world.groups.members(group.jid)) {
      const phone = world.store.phone(m.phone);
      if (!phone) continue;
      try {
        const plain = await decryptGroupMessage(world.store, phone.phone, group.jid, { user: sender.phone, device: sender.device }, ciphertext);
        const msg = proto.Message.decode(unpad(plain));
        if (msg.protocolMessage) revoke(world, phone, msg.protocolMessage);
        else if (!isOnlySenderKey(msg)) await store(phone, msg, group.jid);
      } catch (err) {
        world.log("decrypt_failed", { id, to: phone.phone, group: group.jid, error: String(err) });
      }
      // Every other linked device of a member gets the skmsg, with its own pkmsg if the client sent one.
      for (const c of world.store.activeCompanions(phone.phone)) {
        if (c.phone === sender.phone && c.device === sender.device) continue;
        const own = forwarded.get(`${c.phone}:${c.device}`);
        world.deliver(c.phone, c.device, node("message", {
          from: group.jid, participant: pnJid(sender.phone, sender.device), id, t: String(unixNow()), type: stanza.attrs.type ?? "text", addressing_mode: "pn",
        }, [...(own ? [own] : []), skmsg]));
      }
    }
  }
  await world.ackMessage(conn, stanza);
  for (const phone of recipients) world.scheduleAutoReceipts(phone, id);
}

/** "Delete for everyone": the phone's copy shows when it was revoked (the content stays for assertions). */
function revoke(world: SandboxWorld, phone: PhoneRow, p: proto.Message.IProtocolMessage): void {
  if (p.type !== proto.Message.ProtocolMessage.Type.REVOKE || !p.key?.id) return;
  for (const direction of ["in", "out"] as const) {
    const m = world.store.message(phone.phone, p.key.id, direction);
    if (!m) continue;
    const extra = { ...parseExtra(m.extra), revoked_at: Date.now() };
    world.store.sql.run(`UPDATE messages SET extra = ? WHERE owner = ? AND id = ? AND direction = ?`, JSON.stringify(extra), phone.phone, p.key.id, direction);
    world.log("message_revoked", { id: p.key.id, owner: phone.phone });
  }
}

const isOnlySenderKey = (m: proto.IMessage) => Object.keys(unwrapMessage(m)).every((k) => k === "senderKeyDistributionMessage" || k === "messageContextInfo");
const unpad = (b: Buffer) => {
  const n = b[b.length - 1];
  return n && n <= b.length ? b.subarray(0, b.length - n) : b;
};

function forwardToCompanion(world: SandboxWorld, sender: { phone: string; device: number }, phone: PhoneRow, device: number, stanza: BinaryNode, enc: BinaryNode, chatJid: string): void {
  const fromMe = phone.phone === sender.phone;
  const attrs: Record<string, string> = { from: pnJid(sender.phone, sender.device), id: stanza.attrs.id, t: String(unixNow()), type: stanza.attrs.type ?? "text" };
  if (fromMe) attrs.recipient = chatJid;
  world.deliver(phone.phone, device, node("message", attrs, [enc]));
}

/** The stanza type the server puts on a message (what clients use to pick a notification). */
export const stanzaType = (m: proto.IMessage): string => {
  const c = describeMessage(m);
  return c.media ? "media" : c.type === "reaction" ? "reaction" : c.type === "poll" ? "poll" : "text";
};

/** A simulated phone sends a message to a linked number: Signal-encrypted to each of its companions. */
export async function sendFromPhone(world: SandboxWorld, from: PhoneRow, to: PhoneRow, message: proto.IMessage): Promise<{ id: string; devices: number }> {
  const id = messageId();
  const ts = unixNow();
  const keys = new PhoneSignalStore(world.store, from);
  const plain = toBuffer(proto.Message.encode(message).finish());
  const companions = world.store.activeCompanions(to.phone);
  const type = stanzaType(message);
  for (const c of companions) {
    const enc = await encryptToCompanion(world, keys, c, plain);
    world.deliver(c.phone, c.device, node("message", { from: pnJid(from.phone), sender_lid: `${from.lid}@lid`, id, t: String(ts), type, notify: from.name }, [
      node("enc", { v: "2", type: enc.type, mediatype: type === "media" ? describeMessage(message).type : undefined }, enc.ciphertext),
    ]));
  }
  const content = describeMessage(message);
  content.extra.media_status = content.media ? "ok" : null;
  const row: Omit<MessageRow, "owner" | "direction" | "peer" | "chat_jid"> = { id, from_device: 0, ...rowFields(content), timestamp: ts * 1000, delivered_at: null, read_at: null };
  world.store.upsertMessage({ ...row, owner: from.phone, direction: "out", peer: to.phone, chat_jid: pnJid(to.phone) });
  if (to.phone !== from.phone) world.store.upsertMessage({ ...row, owner: to.phone, direction: "in", peer: from.phone, chat_jid: pnJid(from.phone) });
  return { id, devices: companions.length };
}

/**
 * A simulated phone sends to a group: its sender key goes to each member device that lacks it (in a
 * Signal pkmsg/msg), the message itself once as a sender-key skmsg, fanned out per device.
 */
export async function sendGroupFromPhone(world: SandboxWorld, from: PhoneRow, groupJid: string, message: proto.IMessage): Promise<{ id: string; devices: number }> {
  const id = messageId();
  const ts = unixNow();
  const { skdm, ciphertext } = await encryptForGroup(world.store, from, groupJid, message);
  const keys = new PhoneSignalStore(world.store, from);
  const distribution = toBuffer(proto.Message.encode({ senderKeyDistributionMessage: { groupId: groupJid, axolotlSenderKeyDistributionMessage: skdm } }).finish());
  const type = stanzaType(message);
  let devices = 0;
  const members = world.groups.members(groupJid);
  for (const m of members) {
    for (const c of world.store.activeCompanions(m.phone)) {
      const content: BinaryNode[] = [];
      if (!world.groups.hasSenderKey(from.phone, groupJid, c.phone, c.device)) {
        const enc = await encryptToCompanion(world, keys, c, distribution);
        content.push(node("enc", { v: "2", type: enc.type }, enc.ciphertext));
        world.groups.markSenderKey(from.phone, groupJid, c.phone, c.device);
      }
      content.push(node("enc", { v: "2", type: "skmsg" }, ciphertext));
      world.deliver(c.phone, c.device, node("message", {
        from: groupJid, participant: pnJid(from.phone), participant_lid: `${from.lid}@lid`, id, t: String(ts), type, notify: from.name, addressing_mode: "pn",
      }, content));
      devices++;
    }
  }
  const content = describeMessage(message);
  content.extra.participant = from.phone;
  content.extra.media_status = content.media ? "ok" : null;
  const row = { id, from_device: 0, ...rowFields(content), timestamp: ts * 1000, delivered_at: null, read_at: null, chat_jid: groupJid };
  for (const m of members) {
    const own = m.phone === from.phone;
    world.store.upsertMessage({ ...row, owner: m.phone, direction: own ? "out" : "in", peer: own ? groupJid : from.phone });
  }
  return { id, devices };
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
  const bySender = new Map<string, { peer: string; chatJid: string; ids: string[] }>();
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
    const key = `${m.peer} ${m.chat_jid}`;
    const entry = bySender.get(key) ?? { peer: m.peer, chatJid: m.chat_jid, ids: [] };
    entry.ids.push(id);
    bySender.set(key, entry);
    results.push({ id, sent: true });
  }
  for (const { peer, chatJid, ids: list } of bySender.values()) {
    // In a group the receipt comes from the group, naming who read it.
    const group = isGroupJid(chatJid);
    const attrs = {
      from: group ? chatJid : pnJid(owner.phone),
      participant: group ? pnJid(owner.phone) : undefined,
      id: list[0],
      t: String(unixNow()),
      type: type === "read" ? "read" : undefined,
    };
    const content = list.length > 1 ? [node("list", {}, list.slice(1).map((id) => node("item", { id })))] : undefined;
    for (const c of world.store.activeCompanions(peer)) world.deliver(c.phone, c.device, node("receipt", attrs, content));
  }
  return results;
}

/** The client's receipts for what a phone sent it: recorded on the phone's sent message, then acked. */
export function handleClientReceipt(world: SandboxWorld, conn: ServerConnection, receipt: BinaryNode): void {
  const group = isGroupJid(receipt.attrs.to);
  const target = resolveUser(world, group ? receipt.attrs.participant ?? "" : receipt.attrs.to ?? "");
  const ids = [receipt.attrs.id, ...children(child(receipt, "list"), "item").map((i) => i.attrs.id)];
  const type = receipt.attrs.type;
  if (target && conn.account && (!type || type === "inactive" || type === "read" || type === "read-self")) {
    const now = Date.now();
    for (const id of ids) {
      const m = world.store.message(target.phone, id, "out");
      if (!m || (group ? m.chat_jid !== receipt.attrs.to : m.peer !== conn.account.phone)) continue;
      world.store.markMessage(target.phone, id, "out", "delivered_at", now);
      if (type === "read") world.store.markMessage(target.phone, id, "out", "read_at", now);
    }
  }
  const ack: Record<string, string | undefined> = { id: receipt.attrs.id, class: "receipt", from: receipt.attrs.to, type, participant: receipt.attrs.participant };
  conn.send(node("ack", ack));
}

export const receiptPolicyOf = (p: PhoneRow) => parseReceiptPolicy(JSON.parse(p.receipt_policy));
