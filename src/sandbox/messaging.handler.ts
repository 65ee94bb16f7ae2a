import type { Buffer } from "node:buffer";
import { proto } from "baileys/WAProto/index.js";
import type { ServerConnection } from "./connection";
import { describeMessage, parseExtra, unwrapMessage } from "./content";
import { toBuffer } from "./crypto";
import { isBlocked } from "./blocklist";
import { SandboxError } from "./errors";
import { decryptGroupMessage, isGroupJid, processGroupSenderKey } from "./groups";
import { SMAX_INVALID, smaxInvalidError, validateClientMessage } from "./message-validation";
import { checkMedia, encryptToCompanion, rowFields, stanzaType } from "./phone-side";
import { isLidGroup, memberAttrs, senderAttrs } from "./lids";
import { receiptPolicyOf } from "./phones";
import { sendRetryReceipts, takeResend } from "./retries";
import { NO_TCTOKEN, hasWritten, issuePrivacyToken, tokenAccepted } from "./tctoken";
import type { ServerCore } from "./server.core";
import { PhoneSignalStore, addressOf, decryptFrom } from "./signal.store";
import { type BinaryNode, bytesOf, child, children, messageId, node, parseJid, pnJid, unixNow } from "./stanzas";
import type { MessageRow, PhoneRow } from "./world.store";

// Messaging, seen from the server (Baileys Socket/messages-send.js relayMessage and
// sendReceipt; Socket/messages-recv.js handleMessage, handleReceipt, sendMessageAck): what the
// linked client sends to simulated phones, what the phones send it, and the receipts both ways.

// A group message the server will not deliver: the ack's error code. No client or public source
// names these codes (docs/protocol/sending.md, "Sending into groups"): our guess, after the
// IQ codes for the same refusals (forbidden: not in the group or no right; item-not-found).
const GROUP_NOT_FOUND = "404";
const GROUP_FORBIDDEN = "403";

/** Why the server refuses `sender`'s message to this group (unknown, not a member, announce-only and no admin), or null. */
function groupSendRefusal(core: ServerCore, groupJid: string, sender: string): string | null {
  const group = core.groups.group(groupJid);
  if (!group) return GROUP_NOT_FOUND;
  const member = core.groups.members(groupJid).find((m) => m.phone === sender);
  if (!member) return GROUP_FORBIDDEN;
  if (group.announce && !member.admin) return GROUP_FORBIDDEN;
  return null;
}

/** The durable job kind of an automatic receipt. */
const RECEIPT_JOB = "receipt";

/** Uses up one of the session's `undecryptable` fault messages, if any are left. */
function takeUndecryptable(core: ServerCore, sessionId: string): boolean {
  const left = core.undecryptable.get(sessionId) ?? 0;
  if (left <= 0) return false;
  if (left === 1) core.undecryptable.delete(sessionId);
  else core.undecryptable.set(sessionId, left - 1);
  return true;
}

/** Registers the automatic-receipt job with the core's schedule. */
export function registerMessaging(core: ServerCore): void {
  core.onJob(RECEIPT_JOB, (payload) => {
    const { phone, id, type } = payload as { phone: string; id: string; type: "delivered" | "read" };
    const p = core.store.phone(phone);
    if (p && core.store.message(phone, id, "in")) sendPhoneReceipts(core, p, [id], type);
  });
}

/** Automatic receipts are rows in the schedule table, so a restart does not lose them. */
function scheduleAutoReceipts(core: ServerCore, phone: string, id: string): void {
  const p = core.store.phone(phone);
  if (!p) return;
  const policy = receiptPolicyOf(p);
  const now = Date.now();
  if (policy.delivered === "auto") core.schedule(now + policy.delivered_delay_ms, RECEIPT_JOB, { phone, id, type: "delivered" });
  if (policy.read === "auto") {
    const delay = Math.max(policy.read_delay_ms, policy.delivered === "auto" ? policy.delivered_delay_ms : 0);
    core.schedule(now + delay, RECEIPT_JOB, { phone, id, type: "read" });
  }
  core.armAlarm();
}

/**
 * A message the linked client sends: decrypt every copy addressed to a simulated phone with that
 * phone's real Signal keys, store it in the inbox, ack, then receipts per the contact's policy.
 * Group messages: each member phone takes the sender key from its pkmsg copy and opens the skmsg.
 */
export async function onClientMessage(core: ServerCore, conn: ServerConnection, stanza: BinaryNode): Promise<void> {
  // A stanza the server's schema refuses: ack error 479 (bare `<error>` without an id), not delivered.
  const invalid = validateClientMessage(stanza);
  if (invalid) {
    core.log("message_invalid", { session: conn.sessionId, id: stanza.attrs.id, to: stanza.attrs.to, reason: invalid, code: SMAX_INVALID });
    return stanza.attrs.id ? core.ackMessage(conn, stanza, SMAX_INVALID) : conn.send(smaxInvalidError());
  }
  const sender = conn.account!;
  const id = stanza.attrs.id;
  const chatJid = stanza.attrs.to;
  // A refused message (ack with an error, e.g. 463) is not delivered (whatsmeow send.go: the send failed).
  const refusal = core.refusalOf(conn);
  if (refusal) {
    core.log("message_refused", { id, to: chatJid, from: sender.phone, code: refusal });
    return core.ackMessage(conn, stanza);
  }
  const groupRefusal = isGroupJid(chatJid) ? groupSendRefusal(core, chatJid, sender.phone) : null;
  if (groupRefusal) {
    core.log("message_refused", { id, to: chatJid, from: sender.phone, code: groupRefusal });
    return core.ackMessage(conn, stanza, groupRefusal);
  }
  const group = isGroupJid(chatJid) ? core.groups.group(chatJid) : undefined;
  const toNodes = children(child(stanza, "participants"), "to");
  const direct = children(stanza, "enc");
  const skmsg = direct.find((e) => e.attrs.type === "skmsg");
  const copies: { jid: string; enc: BinaryNode }[] = toNodes.flatMap((t) => children(t, "enc").map((enc) => ({ jid: t.attrs.jid, enc })));
  if (!group) for (const enc of direct) copies.push({ jid: chatJid, enc });
  const chatOwner = group ? undefined : core.resolveUser(chatJid);
  // A restricted account's 1:1 message without the contact's token: refused, not delivered.
  if (chatOwner && !tokenAccepted(core, conn.sessionId, sender.phone, chatOwner, stanza)) {
    core.log("message_refused", { id, to: chatJid, from: sender.phone, code: NO_TCTOKEN });
    return core.ackMessage(conn, stanza, NO_TCTOKEN);
  }
  const recipients = new Set<string>();
  let ownPhoneHasIt = false;
  const store = async (phone: PhoneRow, msg: proto.IMessage, jid: string) => {
    const fromMe = phone.phone === sender.phone;
    const content = describeMessage(msg);
    if (content.media) content.extra.media_status = (await checkMedia(core, content.media)).status;
    if (group) content.extra.participant = sender.phone;
    // The resend of a message the phone asked for again (retries.ts): it fills the waiting row.
    if (!fromMe && !group && takeResend(core, phone, id, content)) {
      recipients.add(phone.phone);
      return;
    }
    core.store.upsertMessage({
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
    // The sender's own phone, given its copy, tells the sending device it has it (after the ack).
    if (fromMe && sender.device !== 0) ownPhoneHasIt = true;
    // Fault `undecryptable`: this phone "fails" to open it and asks the sender's device again
    // (retries.ts); it sends no delivery receipt until a resend opens.
    if (!fromMe && !group && takeUndecryptable(core, conn.sessionId)) {
      sendRetryReceipts(core, phone, [id]);
      return;
    }
    if (!fromMe) recipients.add(phone.phone);
    core.log("message_decrypted", { id, to: phone.phone, from: sender.phone, type: content.type, group: group?.jid ?? null, media_status: content.extra.media_status });
  };
  const forwarded = new Map<string, BinaryNode>();
  for (const { jid, enc } of copies) {
    const target = parseJid(jid);
    const phone = target && core.resolveUser(jid);
    if (!target || !phone) continue;
    // A 1:1 message to someone who blocked the sender reaches none of their devices (blocklist.ts).
    if (!group && phone.phone !== sender.phone && isBlocked(core, phone.phone, sender.phone)) continue;
    if (target.device !== 0) {
      // Another companion (a second linked session): forward the ciphertext as the server would.
      if (group) forwarded.set(`${phone.phone}:${target.device}`, enc);
      else forwardToCompanion(core, sender, phone, target.device, stanza, enc, chatJid);
      continue;
    }
    try {
      const keys = new PhoneSignalStore(core.store, phone);
      const plain = await decryptFrom(keys, addressOf(sender.phone, sender.device), enc.attrs.type, bytesOf(enc)!);
      let msg = proto.Message.decode(plain);
      if (msg.deviceSentMessage?.message) msg = proto.Message.create(msg.deviceSentMessage.message);
      const skdm = msg.senderKeyDistributionMessage;
      if (group && skdm?.axolotlSenderKeyDistributionMessage) {
        await processGroupSenderKey(core.store, phone.phone, group.jid, { user: sender.phone, device: sender.device }, skdm.axolotlSenderKeyDistributionMessage);
      }
      if (msg.protocolMessage) revoke(core, phone, msg.protocolMessage);
      if (group || msg.protocolMessage || isOnlySenderKey(msg)) continue;
      await store(phone, msg, jid);
    } catch (err) {
      core.log("decrypt_failed", { id, to: jid, error: String(err) });
    }
  }
  if (group && skmsg) {
    const ciphertext = bytesOf(skmsg)!;
    // The author as the group names it (a LID-addressed group: its LID device, the number beside it).
    const lidGroup = isLidGroup(core.store, group.jid);
    const senderRow = core.store.phone(sender.phone);
    const author = senderRow && lidGroup ? memberAttrs(senderRow, true, sender.device) : { participant: pnJid(sender.phone, sender.device) };
    for (const m of core.groups.members(group.jid)) {
      const phone = core.store.phone(m.phone);
      if (!phone) continue;
      try {
        const plain = await decryptGroupMessage(core.store, phone.phone, group.jid, { user: sender.phone, device: sender.device }, ciphertext);
        const msg = proto.Message.decode(unpad(plain));
        if (msg.protocolMessage) revoke(core, phone, msg.protocolMessage);
        else if (!isOnlySenderKey(msg)) await store(phone, msg, group.jid);
      } catch (err) {
        core.log("decrypt_failed", { id, to: phone.phone, group: group.jid, error: String(err) });
      }
      // Every other linked device of a member gets the skmsg, with its own pkmsg if the client sent one.
      for (const c of core.store.activeCompanions(phone.phone)) {
        if (c.phone === sender.phone && c.device === sender.device) continue;
        const own = forwarded.get(`${c.phone}:${c.device}`);
        core.deliver(c.phone, c.device, node("message", {
          from: group.jid, ...author, id, t: String(unixNow()), type: stanza.attrs.type ?? "text", addressing_mode: lidGroup ? "lid" : "pn",
        }, [...(own ? [own] : []), skmsg]));
      }
    }
  }
  core.ackMessage(conn, stanza);
  if (ownPhoneHasIt) sendSenderReceipt(core, sender, id, group ? group.jid : null, chatJid);
  for (const phone of recipients) scheduleAutoReceipts(core, phone, id);
}

/**
 * The account's phone received a message one of its companions sent (the copy addressed to
 * device 0): it answers `type="sender"` (whatsmeow receipt.go sendMessageReceipt: IsFromMe →
 * ReceiptTypeSender), which the server passes to the sending device. In a group it comes from
 * the group naming the phone as participant; in a 1:1 chat from the phone, naming the chat as
 * `recipient` (Baileys messages-recv.js handleReceipt reads both: fromMe for type sender).
 */
function sendSenderReceipt(core: ServerCore, sender: { phone: string; device: number }, id: string, groupJid: string | null, chatJid: string): void {
  const attrs = groupJid
    ? { from: groupJid, participant: pnJid(sender.phone), id, t: String(unixNow()), type: "sender" }
    : { from: pnJid(sender.phone), recipient: chatJid, id, t: String(unixNow()), type: "sender" };
  core.deliver(sender.phone, sender.device, node("receipt", attrs));
}

/** "Delete for everyone": the phone's copy shows when it was revoked (the content stays for assertions). */
function revoke(core: ServerCore, phone: PhoneRow, p: proto.Message.IProtocolMessage): void {
  if (p.type !== proto.Message.ProtocolMessage.Type.REVOKE || !p.key?.id) return;
  for (const direction of ["in", "out"] as const) {
    const m = core.store.message(phone.phone, p.key.id, direction);
    if (!m) continue;
    const extra = { ...parseExtra(m.extra), revoked_at: Date.now() };
    core.store.sql.run(`UPDATE messages SET extra = ? WHERE owner = ? AND id = ? AND direction = ?`, JSON.stringify(extra), phone.phone, p.key.id, direction);
    core.log("message_revoked", { id: p.key.id, owner: phone.phone });
  }
}

const isOnlySenderKey = (m: proto.IMessage) => Object.keys(unwrapMessage(m)).every((k) => k === "senderKeyDistributionMessage" || k === "messageContextInfo");
const unpad = (b: Buffer) => {
  const n = b[b.length - 1];
  return n && n <= b.length ? b.subarray(0, b.length - n) : b;
};

function forwardToCompanion(core: ServerCore, sender: { phone: string; device: number }, phone: PhoneRow, device: number, stanza: BinaryNode, enc: BinaryNode, chatJid: string): void {
  const fromMe = phone.phone === sender.phone;
  const attrs: Record<string, string> = { from: pnJid(sender.phone, sender.device), id: stanza.attrs.id, t: String(unixNow()), type: stanza.attrs.type ?? "text" };
  if (fromMe) attrs.recipient = chatJid;
  core.deliver(phone.phone, device, node("message", attrs, [enc]));
}

/** A simulated phone sends a message to a linked number: Signal-encrypted to each of its companions. */
export async function sendFromPhone(core: ServerCore, from: PhoneRow, to: PhoneRow, message: proto.IMessage): Promise<{ id: string; devices: number }> {
  const id = messageId();
  const ts = unixNow();
  const keys = new PhoneSignalStore(core.store, from);
  const plain = toBuffer(proto.Message.encode(message).finish());
  // Blocked by the recipient: the server takes the message (one tick) and delivers it nowhere (blocklist.ts).
  const blocked = isBlocked(core, to.phone, from.phone);
  const companions = blocked ? [] : core.store.activeCompanions(to.phone);
  const type = stanzaType(message);
  const firstWrite = to.phone !== from.phone && !hasWritten(core, from.phone, to.phone);
  for (const c of companions) {
    const enc = await encryptToCompanion(core, keys, c, plain);
    core.deliver(c.phone, c.device, node("message", { ...senderAttrs(from), id, t: String(ts), type, notify: from.name }, [
      node("enc", { v: "2", type: enc.type, mediatype: type === "media" ? describeMessage(message).type : undefined }, enc.ciphertext),
    ]));
  }
  const content = describeMessage(message);
  content.extra.media_status = content.media ? "ok" : null;
  const row: Omit<MessageRow, "owner" | "direction" | "peer" | "chat_jid"> = { id, from_device: 0, ...rowFields(content), timestamp: ts * 1000, delivered_at: null, read_at: null };
  core.store.upsertMessage({ ...row, owner: from.phone, direction: "out", peer: to.phone, chat_jid: pnJid(to.phone) });
  if (to.phone !== from.phone && !blocked) core.store.upsertMessage({ ...row, owner: to.phone, direction: "in", peer: from.phone, chat_jid: pnJid(from.phone) });
  // After the message: the number's devices may now write back to this phone (tctoken.ts).
  if (firstWrite) issuePrivacyToken(core, from, to);
  return { id, devices: companions.length };
}

/** Receipts a phone sends for messages it received, to every device of the sender. */
export function sendPhoneReceipts(core: ServerCore, owner: PhoneRow, ids: string[], type: "delivered" | "read"): { id: string; sent: boolean }[] {
  const results: { id: string; sent: boolean }[] = [];
  const bySender = new Map<string, { peer: string; chatJid: string; ids: string[] }>();
  const now = Date.now();
  for (const id of ids) {
    const m = core.store.message(owner.phone, id, "in");
    if (!m) throw new SandboxError(`phone ${owner.phone} has no received message ${id}`, 404);
    if (type === "read" && !m.delivered_at) core.store.markMessage(owner.phone, id, "in", "delivered_at", now);
    core.store.markMessage(owner.phone, id, "in", type === "read" ? "read_at" : "delivered_at", now);
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
    // A LID-addressed phone's receipt comes from its LID, its number beside it (lids.ts).
    const attrs = {
      ...(group ? { from: chatJid, ...(isLidGroup(core.store, chatJid) ? memberAttrs(owner, true) : { participant: pnJid(owner.phone) }) } : senderAttrs(owner)),
      id: list[0],
      t: String(unixNow()),
      type: type === "read" ? "read" : undefined,
    };
    const content = list.length > 1 ? [node("list", {}, list.slice(1).map((id) => node("item", { id })))] : undefined;
    for (const c of core.store.activeCompanions(peer)) core.deliver(c.phone, c.device, node("receipt", attrs, content));
  }
  return results;
}

/** The client's receipts for what a phone sent it: recorded on the phone's sent message, then acked. */
export function onClientReceipt(core: ServerCore, conn: ServerConnection, receipt: BinaryNode): void {
  const group = isGroupJid(receipt.attrs.to);
  const target = core.resolveUser(group ? receipt.attrs.participant ?? "" : receipt.attrs.to ?? "");
  const ids = [receipt.attrs.id, ...children(child(receipt, "list"), "item").map((i) => i.attrs.id)];
  const type = receipt.attrs.type;
  if (target && conn.account && (!type || type === "inactive" || type === "read" || type === "read-self" || type === "played")) {
    const now = Date.now();
    for (const id of ids) {
      const m = core.store.message(target.phone, id, "out");
      if (!m || (group ? m.chat_jid !== receipt.attrs.to : m.peer !== conn.account.phone)) continue;
      core.store.markMessage(target.phone, id, "out", "delivered_at", now);
      // A voice note played was read too (the sender's app shows it played: chats.md).
      if (type === "read" || type === "played") core.store.markMessage(target.phone, id, "out", "read_at", now);
      if (type === "played") core.log("receipt_played", { session: conn.sessionId, phone: target.phone, id });
    }
  }
  const ack: Record<string, string | undefined> = { id: receipt.attrs.id, class: "receipt", from: receipt.attrs.to, type, participant: receipt.attrs.participant };
  conn.send(node("ack", ack));
}

