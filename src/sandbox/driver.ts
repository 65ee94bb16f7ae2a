import { GroupDriver, type GroupView, requireGroup, requirePhone, runGroupOp } from "./driver.groups";
import type { CreatePhoneOptions, FaultRequest, PhonePatch, GroupSpec, PhoneMessage, PhoneMessageContent, ReceiptPolicyPatch, ReceiptsRequest, RetryReceiptsRequest } from "./driver.schemas";
import { type InboxMessage, type MediaDownload, type PhoneInfo, type SentByPhone, inboxMessage, phoneInfo, sentResult } from "./driver.present";
import { SandboxError } from "./errors";
import type { FaultsHandler } from "./faults.handler";
import { sendGroupFromPhone } from "./groups.handler";
import { createGroup } from "./groups.ops";
import type { LinkingHandler, LinkResult } from "./linking.handler";
import { sendFromPhone, sendPhoneReceipts } from "./messaging.handler";
import { parseExtra } from "./content";
import { seedHistory } from "./history.seed";
import { buildPhoneMessage } from "./phone-message";
import { sendRetryReceipts } from "./retries";
import { checkMedia } from "./phone-side";
import { setLidAddressed } from "./lids";
import { createPhoneRow, normalizePhone, parseReceiptPolicy, receiptPolicyOf } from "./phones";
import type { ServerCore } from "./server.core";
import type { PhoneRow } from "./world.store";

/**
 * What simulated phones do on command (the driver API): created, scan a QR, type a pairing code,
 * send to a linked number or a group, read their inbox, send receipts, and faults on a session.
 * Input arrives parsed by the schemas in driver.schemas.ts.
 */
export class Driver {
  /** Group membership, settings, links and join requests, as a phone does them (driver.groups.ts). */
  readonly groups: GroupDriver;

  constructor(private readonly core: ServerCore, private readonly linking: LinkingHandler, private readonly faults: FaultsHandler) {
    this.groups = new GroupDriver(core);
  }

  private requirePhone(phoneNumber: string): PhoneRow {
    return requirePhone(this.core, phoneNumber);
  }

  private requireGroup(jid: string) {
    return requireGroup(this.core, jid);
  }

  createPhone(opts: CreatePhoneOptions = {}): PhoneInfo {
    let row = createPhoneRow(this.core.store, opts);
    if (opts.lid_addressed) row = setLidAddressed(this.core.store, row.phone, true);
    const seeded = opts.history ? seedHistory(this.core.store, row, opts.history) : 0;
    this.core.log("phone_created", { phone: row.phone, seeded });
    return phoneInfo(this.core, row);
  }

  /** A phone's own settings (who can add it to groups, LID addressing). */
  updatePhone(phoneNumber: string, patch: PhonePatch): PhoneInfo {
    const p = this.requirePhone(phoneNumber);
    if (patch.group_add_privacy) this.groups.setGroupAddPrivacy(p.phone, patch.group_add_privacy);
    if (patch.lid_addressed !== undefined) setLidAddressed(this.core.store, p.phone, patch.lid_addressed);
    this.core.log("phone_updated", { phone: p.phone, ...patch });
    return phoneInfo(this.core, this.core.store.phone(p.phone)!);
  }

  listPhones(): PhoneInfo[] {
    return this.core.store.phones().map((p) => phoneInfo(this.core, p));
  }

  getPhone(phoneNumber: string): PhoneInfo {
    return phoneInfo(this.core, this.requirePhone(phoneNumber));
  }

  /** The phone scans the QR the session shows (the QR string the client emitted). */
  async scan(sessionId: string, phoneNumber: string, qr: string): Promise<LinkResult> {
    const p = this.requirePhone(phoneNumber);
    if (p.banned) throw new SandboxError(`phone ${p.phone} is banned`, 409);
    return this.linking.scan(sessionId, p, qr);
  }

  /** The phone's user types the code the session shows (after the client asked for a code for this number). */
  async enterPairingCode(phoneNumber: string, code: string): Promise<LinkResult> {
    const p = this.requirePhone(phoneNumber);
    if (p.banned) throw new SandboxError(`phone ${p.phone} is banned`, 409);
    const typed = code.replace(/[\s-]/g, "").toUpperCase();
    if (typed.length !== 8) throw new SandboxError("a pairing code has 8 characters", 422);
    return this.linking.enterPairingCode(p, typed);
  }

  /** A simulated phone sends a message (text, media, location) to a number (normally a linked one). */
  async sendMessage(fromPhone: string, msg: PhoneMessage): Promise<SentByPhone> {
    const from = this.requirePhone(fromPhone);
    const toPhone = normalizePhone(msg.to);
    const to = this.core.store.phone(toPhone);
    if (!to) throw new SandboxError(`${toPhone} is not on WhatsApp in this sandbox`, 404);
    const message = await buildPhoneMessage(this.core, from, msg);
    const { id, devices } = await sendFromPhone(this.core, from, to, message);
    this.core.log("phone_sent", { id, from: from.phone, to: to.phone, type: msg.type, devices });
    return sentResult(this.core, id, from.phone, to.phone, devices);
  }

  inbox(phoneNumber: string): InboxMessage[] {
    const p = this.requirePhone(phoneNumber);
    return this.core.store.messages(p.phone).map((m) => inboxMessage(p, m));
  }

  /** The decrypted file of a media message in a phone's inbox, checked against its hashes. */
  async downloadMedia(phoneNumber: string, messageId: string): Promise<MediaDownload> {
    const p = this.requirePhone(phoneNumber);
    const { store } = this.core;
    const m = store.message(p.phone, messageId, "in") ?? store.message(p.phone, messageId, "out");
    if (!m) throw new SandboxError(`phone ${p.phone} has no message ${messageId}`, 404);
    if (!m.media_ref) throw new SandboxError(`message ${messageId} has no media`, 404);
    const { status, plain } = await checkMedia(this.core, JSON.parse(m.media_ref));
    if (status !== "ok" || !plain) throw new SandboxError(`the media of ${messageId} cannot be opened: ${status}`, 409);
    const extra = parseExtra(m.extra);
    return { id: m.id, type: m.type, mimetype: m.mimetype, file_name: extra.file_name, file_length: plain.length, sha256: m.media_sha256 ?? "", base64: plain.toString("base64") };
  }

  /**
   * A phone creates a group with members (simulated phones, the linked account's number among
   * them), through the same operation as the account's create iq. A member that is no sandbox phone
   * refuses the whole call (404, nothing made: a phone only offers contacts on WhatsApp); one whose
   * group-add privacy refuses the owner is left out with an add invite (the view's `add_invites`).
   */
  createGroup(ownerPhone: string, opts: GroupSpec): GroupView {
    const owner = this.requirePhone(ownerPhone);
    const members = [...new Set(opts.members.map((m) => normalizePhone(m)))];
    for (const m of members) if (!this.core.store.phone(m)) throw new SandboxError(`${m} is not on WhatsApp in this sandbox`, 404);
    const { group } = runGroupOp(() => createGroup(this.core, owner, opts.subject, members, undefined, { addressing: opts.addressing_mode }));
    return this.groups.view(group.jid);
  }

  getGroup(jid: string): GroupView {
    return this.groups.view(String(jid ?? ""));
  }

  /** A member phone sends to a group (sender keys; see sendGroupFromPhone). */
  async sendGroupMessage(fromPhone: string, groupJid: string, msg: PhoneMessageContent): Promise<SentByPhone> {
    const from = this.requirePhone(fromPhone);
    const g = this.requireGroup(groupJid);
    if (!this.core.groups.members(g.jid).some((m) => m.phone === from.phone)) throw new SandboxError(`${from.phone} is not a member of ${g.jid}`, 409);
    const message = await buildPhoneMessage(this.core, from, msg);
    const { id, devices } = await sendGroupFromPhone(this.core, from, g.jid, message);
    this.core.log("phone_sent_group", { id, from: from.phone, group: g.jid, devices });
    return sentResult(this.core, id, from.phone, g.jid, devices);
  }

  sendReceipts(phoneNumber: string, { ids, type }: ReceiptsRequest) {
    const p = this.requirePhone(phoneNumber);
    return { phone_number: p.phone, type, receipts: sendPhoneReceipts(this.core, p, ids, type) };
  }

  /** The phone could not decrypt these messages: it asks their sending device for them again. */
  sendRetryReceipts(phoneNumber: string, { ids }: RetryReceiptsRequest) {
    const p = this.requirePhone(phoneNumber);
    return { phone_number: p.phone, receipts: sendRetryReceipts(this.core, p, ids) };
  }

  setReceiptPolicy(phoneNumber: string, policy: ReceiptPolicyPatch): PhoneInfo {
    const p = this.requirePhone(phoneNumber);
    const merged = parseReceiptPolicy({ ...receiptPolicyOf(p), ...policy });
    this.core.store.updatePhone(p.phone, { receipt_policy: JSON.stringify(merged) });
    return phoneInfo(this.core, this.core.store.phone(p.phone)!);
  }

  fault(sessionId: string, { kind, ...opts }: FaultRequest) {
    return this.faults.apply(sessionId, kind, opts);
  }
}
