import { Buffer } from "node:buffer";
import { encodeBinaryNode } from "baileys/lib/WABinary/index.js";
import { proto } from "baileys/WAProto/index.js";
import { fixBufferWrites } from "../runtime/buffer-compat";
import { issueCertChain } from "./certificates";
import { type AckPolicy, type ConnectionHost, ServerConnection, type Transport } from "./connection";
import { type KeyPair, generateKeyPair, random, readBigEndian, toBuffer, unpadMax16 } from "./crypto";
import { SandboxError } from "./errors";
import {
  FAULT_KINDS,
  type FaultKind,
  STREAM_ERROR_CODES,
  type StreamErrorCode,
  type UpgradeFault,
  type LoginFault,
  banned,
  deviceRemoved,
  replaced,
  restartRequired,
  streamError,
  unknownDevice,
} from "./faults";
import { bundleNode, handleIq } from "./iq.handlers";
import { resolveUser } from "./iq.handlers";
import { type MediaType, type MessageExtra, MEDIA_TYPES, fromBase64, parseExtra } from "./content";
import { type GroupInfo, GroupStore, groupInfo, groupNode, isGroupJid, newGroupJid } from "./groups";
import { DEFAULT_MEDIA_HOST, MAX_MEDIA_BYTES, MediaServer, encryptMedia, validMediaHost } from "./media";
import { checkMedia, handleClientMessage, handleClientReceipt, pushHistorySync, receiptPolicyOf, sendFromPhone, sendGroupFromPhone, sendPhoneReceipts } from "./messaging";
import { buildDeviceIdentity, newRef, openKeyBundle, parseQr, unwrapWithCode, verifyDeviceSign, wrapWithCode } from "./pairing";
import { type ReceiptPolicy, accountKey, createPhoneRow, normalizePhone, parseReceiptPolicy, replenishPrekeys } from "./phones";
import { Sql, type SqlExec } from "./sql";
import { type BinaryNode, SERVER_JID, bytesOf, child, iqError, iqResult, lidJid, node, parseJid, pnJid, serverId, unixNow } from "./stanzas";
import { type CompanionRow, type MessageRow, type PhoneRow, WorldStore } from "./world.store";

export interface LinkedDevice {
  device: number;
  jid: string;
  lid: string;
  session_id: string;
  status: "active" | "logged_out";
  platform: string;
  connected: boolean;
  linked_at: string;
}

export interface PhoneInfo {
  phone_number: string;
  jid: string;
  lid: string;
  name: string;
  banned: boolean;
  receipt_policy: ReceiptPolicy;
  linked_devices: LinkedDevice[];
  created_at: string;
}

export interface LinkResult {
  phone_number: string;
  name: string;
  device: number;
  jid: string;
  lid: string;
  session_id: string;
}

export interface InboxMessage extends Omit<MessageExtra, "revoked_at"> {
  id: string;
  direction: "in" | "out";
  /** Phone numbers; in a group `to` is the group jid and `participant` the author. */
  from: string;
  to: string;
  from_device: number | null;
  /** The chat: the peer's jid, or the group jid. */
  chat: string;
  group_jid: string | null;
  type: string;
  text: string | null;
  caption: string | null;
  /** Hex SHA-256 of the plaintext file. */
  media_sha256: string | null;
  mimetype: string | null;
  timestamp: string;
  delivered_at: string | null;
  read_at: string | null;
  revoked_at: string | null;
}

/** What a driver may make a simulated phone send. */
export type PhoneMessage =
  | { to: string; type: "text"; text: string; quoted_id?: string; mentions?: string[] }
  | {
    to: string;
    type: MediaType;
    /** The file: base64, or bytes. */
    base64?: string;
    bytes?: Uint8Array;
    mimetype?: string;
    caption?: string;
    filename?: string;
    /** Audio only: a voice note. */
    ptt?: boolean;
  }
  | { to: string; type: "location"; latitude: number; longitude: number; name?: string; address?: string };

/** The same messages, sent to a group (no `to`). */
export type GroupMessage = PhoneMessage extends infer T ? (T extends PhoneMessage ? Omit<T, "to"> : never) : never;

export interface SentByPhone {
  id: string;
  from: string;
  to: string;
  type: string;
  timestamp: string;
  delivered_to_devices: number;
  /** Media: hex SHA-256 and length of the plaintext file. */
  media_sha256: string | null;
  file_length: number | null;
}

export interface MediaDownload {
  id: string;
  type: string;
  mimetype: string | null;
  file_name: string | null;
  file_length: number;
  sha256: string;
  base64: string;
}

export interface WorldOptions {
  logger?: (line: string) => void;
  /** Arms the host's alarm for the earliest scheduled job (the Durable Object's single alarm). */
  setAlarm?: (at: number) => void;
}

const DEFAULT_MIMETYPES: Record<MediaType, string> = {
  image: "image/jpeg",
  video: "video/mp4",
  audio: "audio/ogg; codecs=opus",
  document: "application/octet-stream",
  sticker: "image/webp",
};

export interface FaultOptions {
  /** delay_acks: how long to hold each message ack. */
  ms?: number;
  /** refuse_acks: the error code put on each message ack; stream_error: which stream error (see STREAM_ERROR_CODES). */
  code?: string;
  /** refuse_upgrade, http_error: how many upgrades in a row fail (default 2); stream_error: how many logins end with it (default 1). */
  count?: number;
  /** http_error: the HTTP status answered to the upgrade (default 503). */
  status?: number;
}

// protobufjs encodes long strings through a Buffer method workerd gets wrong (see buffer-compat).
fixBufferWrites();

const iso = (ms: number | null | undefined): string | null => (ms == null ? null : new Date(ms).toISOString().replace("Z", "000Z"));
const deviceKey = (phone: string, device: number) => `${phone}:${device}`;

/**
 * The simulated WhatsApp server: root of trust, phones, linked devices, live sockets, and the driver
 * operations. Runtime-agnostic: the Durable Object and a Node harness both host it.
 */
export class SandboxWorld implements ConnectionHost {
  readonly store: WorldStore;
  readonly root: KeyPair;
  readonly serverStatic: KeyPair;
  readonly certChain: Buffer;
  private readonly bySession = new Map<string, ServerConnection>();
  private readonly byDevice = new Map<string, ServerConnection>();
  private readonly ackPolicies = new Map<string, AckPolicy>();
  private readonly upgradeFaults = new Map<string, UpgradeFault>();
  private readonly loginFaults = new Map<string, LoginFault>();
  private readonly linkWaiters = new Map<string, (iq: BinaryNode) => void>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly mediaHosts = new WeakMap<ServerConnection, string>();
  readonly media: MediaServer;
  readonly groups: GroupStore;
  private readonly logger: (line: string) => void;
  private readonly setAlarm: (at: number) => void;

  constructor(sql: SqlExec, options: WorldOptions = {}) {
    this.logger = options.logger ?? (() => {});
    this.setAlarm = options.setAlarm ?? (() => {});
    this.store = new WorldStore(new Sql(sql));
    let secret = this.store.getMeta("media_secret");
    if (!secret) {
      secret = random(32);
      this.store.setMeta("media_secret", secret);
    }
    this.media = new MediaServer(this.store, secret);
    this.groups = new GroupStore(this.store);
    this.root = this.keyPair("root");
    this.serverStatic = this.keyPair("server_static");
    let chain = this.store.getMeta("cert_chain");
    if (!chain) {
      chain = issueCertChain(this.root, this.serverStatic.pub);
      this.store.setMeta("cert_chain", chain);
    }
    this.certChain = chain;
    // Receipts due while the object was away are delivered as soon as the alarm fires.
    this.armAlarm();
  }

  private keyPair(name: string): KeyPair {
    const pub = this.store.getMeta(`${name}_pub`);
    const priv = this.store.getMeta(`${name}_priv`);
    if (pub && priv) return { pub, priv };
    const kp = generateKeyPair();
    this.store.setMeta(`${name}_pub`, kp.pub);
    this.store.setMeta(`${name}_priv`, kp.priv);
    return kp;
  }

  /** The root public key clients must trust for sandbox sockets (32 bytes, like WA_CERT_DETAILS.PUBLIC_KEY). */
  trustRoot(): Uint8Array {
    return new Uint8Array(this.root.pub);
  }

  log(kind: string, detail: unknown): void {
    this.store.log(kind, detail);
    this.logger(`[sandbox] ${kind} ${JSON.stringify(detail)}`);
  }

  // ---- sockets ----

  accept(sessionId: string, transport: Transport, mediaHost?: string | null): ServerConnection {
    if (!sessionId) throw new SandboxError("the socket needs a session query parameter", 422);
    const conn = new ServerConnection(this, transport, sessionId);
    const host = validMediaHost(mediaHost);
    if (host) {
      this.mediaHosts.set(conn, host);
      // Media the phones send names this host; every session of the account routes the same one.
      if (this.store.getMeta("media_host")?.toString() !== host) this.store.setMeta("media_host", Buffer.from(host));
    }
    return conn;
  }

  /** The host a client uploads to and downloads from (its session routes it to this object). */
  mediaHost(conn?: ServerConnection): string {
    return (conn && this.mediaHosts.get(conn)) ?? this.store.getMeta("media_host")?.toString() ?? DEFAULT_MEDIA_HOST;
  }

  async onClientPayload(conn: ServerConnection, clientStatic: Buffer, bytes: Buffer): Promise<void> {
    const payload = proto.ClientPayload.decode(bytes);
    const previous = this.bySession.get(conn.sessionId);
    if (payload.devicePairingData) {
      const d = payload.devicePairingData;
      const props = d.deviceProps ? proto.DeviceProps.decode(d.deviceProps) : undefined;
      // One pairing socket per session: a newer one supersedes the old QR.
      if (previous && previous !== conn && previous.state === "registering") previous.close(1000, "superseded");
      conn.registration = {
        clientStatic,
        identityPub: toBuffer(d.eIdent!),
        regId: readBigEndian(d.eRegid!),
        skeyId: readBigEndian(d.eSkeyId!),
        skeyPub: toBuffer(d.eSkeyVal!),
        skeySig: toBuffer(d.eSkeySig!),
        platform: props?.os ?? "unknown",
        refs: Array.from({ length: 6 }, newRef),
      };
      conn.state = "registering";
      this.bySession.set(conn.sessionId, conn);
      this.log("registration_started", { session: conn.sessionId });
      conn.send(node("iq", { id: serverId(), type: "set", xmlns: "md", from: SERVER_JID }, [
        node("pair-device", {}, conn.registration.refs.map((r) => node("ref", {}, Buffer.from(r)))),
      ]));
      return;
    }
    const phone = String(payload.username ?? "");
    const device = Number(payload.device ?? 0);
    const p = this.store.phone(phone);
    const c = this.store.companion(phone, device);
    if (p?.banned) {
      this.log("login_refused", { session: conn.sessionId, phone, device, reason: "banned" });
      return conn.end(banned());
    }
    if (!p || !c || c.status !== "active" || !c.noise_pub.equals(clientStatic)) {
      this.log("login_refused", { session: conn.sessionId, phone, device, reason: !c ? "unknown device" : c.status !== "active" ? "logged out" : "noise key mismatch" });
      return conn.end(unknownDevice());
    }
    const existing = this.byDevice.get(deviceKey(phone, device));
    if (existing && existing !== conn && existing.state !== "closed") existing.end(replaced());
    conn.account = { phone, device };
    conn.state = "open";
    this.byDevice.set(deviceKey(phone, device), conn);
    this.bySession.set(conn.sessionId, conn);
    conn.send(node("success", {
      t: String(unixNow()),
      props: "1",
      abprops: "1",
      location: "sandbox",
      creation: String(Math.floor(c.created_at / 1000)),
      lid: lidJid(p.lid, device),
    }));
    const queued = this.store.takeQueued(phone, device);
    for (const bytes of queued) conn.sendEncoded(bytes);
    conn.send(node("ib", {}, [node("offline", { count: String(queued.length) })]));
    this.log("login", { session: conn.sessionId, phone, device, offline: queued.length });
    // Fault stream_error with a count: a server that accepts the login and drops it at once.
    const repeat = this.loginFaults.get(conn.sessionId);
    if (repeat) {
      if (--repeat.remaining <= 0) this.loginFaults.delete(conn.sessionId);
      conn.end(streamError(repeat.code));
    }
  }

  async onNode(conn: ServerConnection, stanza: BinaryNode): Promise<void> {
    switch (stanza.tag) {
      case "iq":
        if (stanza.attrs.type === "result" || stanza.attrs.type === "error") return; // replies nobody waits for (pair-device ack)
        if (conn.state === "registering" && stanza.attrs.xmlns !== "md") return conn.send(iqResult(stanza));
        return handleIq(this, conn, stanza);
      case "message":
        if (!conn.account) return;
        return handleClientMessage(this, conn, stanza);
      case "receipt":
        return handleClientReceipt(this, conn, stanza);
      case "ack":
      case "presence":
      case "chatstate":
      case "ib":
        return;
      case "call":
        return conn.send(node("ack", { id: stanza.attrs.id, class: "call", from: stanza.attrs.to }));
      default:
        this.log("unknown_stanza", { session: conn.sessionId, tag: stanza.tag, attrs: stanza.attrs });
    }
  }

  onClosed(conn: ServerConnection): void {
    if (this.bySession.get(conn.sessionId) === conn) this.bySession.delete(conn.sessionId);
    if (conn.account && this.byDevice.get(deviceKey(conn.account.phone, conn.account.device)) === conn) {
      this.byDevice.delete(deviceKey(conn.account.phone, conn.account.device));
    }
  }

  /** Sends now if that companion is connected, else keeps it for its next login (offline delivery). */
  deliver(phone: string, device: number, stanza: BinaryNode): void {
    const conn = this.byDevice.get(deviceKey(phone, device));
    if (conn && conn.state === "open") conn.send(stanza);
    else this.store.queueStanza(phone, device, encodeBinaryNode(stanza));
  }

  // ---- used by the iq and message handlers ----

  private companionOf(conn: ServerConnection): CompanionRow | undefined {
    return conn.account && this.store.companion(conn.account.phone, conn.account.device);
  }

  prekeyCount(conn: ServerConnection): number {
    return conn.account ? this.store.companionPrekeyCount(conn.account.phone, conn.account.device) : 0;
  }

  storeUploadedPrekeys(conn: ServerConnection, keys: { id: number; pub: Buffer }[], skey: BinaryNode | undefined): boolean {
    if (!conn.account) return false;
    const { phone, device } = conn.account;
    this.store.addCompanionPrekeys(phone, device, keys);
    if (skey) this.rotateSignedPrekey(conn, skey);
    this.log("prekeys_uploaded", { phone, device, count: keys.length });
    return true;
  }

  rotateSignedPrekey(conn: ServerConnection, skey: BinaryNode | undefined): void {
    if (!conn.account || !skey) return;
    const id = bytesOf(child(skey, "id"));
    const value = bytesOf(child(skey, "value"));
    const sig = bytesOf(child(skey, "signature"));
    if (!id || !value || !sig) return;
    this.store.updateCompanion(conn.account.phone, conn.account.device, { skey_id: readBigEndian(id), skey_pub: value, skey_sig: sig });
  }

  async afterPrekeyUpload(conn: ServerConnection): Promise<void> {
    const c = this.companionOf(conn);
    if (!c || c.history_synced) return;
    this.store.updateCompanion(c.phone, c.device, { history_synced: 1 });
    await pushHistorySync(this, this.store.phone(c.phone)!, this.store.companion(c.phone, c.device)!);
  }

  /** `<user>` of a key-fetch reply: device 0 is the phone itself, other devices are companions' uploads. */
  keyBundle(jid: string): BinaryNode {
    const target = parseJid(jid);
    const phone = target && resolveUser(this, jid);
    if (!target || !phone || phone.banned) return bundleNode(jid, undefined);
    if (target.device === 0) {
      const oneTime = this.store.servePhonePrekey(phone.phone);
      replenishPrekeys(this.store, phone);
      return bundleNode(jid, { regId: phone.reg_id, identity: phone.identity_pub, skeyId: phone.spk_id, skeyPub: phone.spk_pub, skeySig: phone.spk_sig }, oneTime && { id: oneTime.key_id, pub: oneTime.pub });
    }
    const c = this.store.companion(phone.phone, target.device);
    if (!c || c.status !== "active") return bundleNode(jid, undefined);
    const oneTime = this.store.takeCompanionPrekey(c.phone, c.device);
    return bundleNode(jid, { regId: c.reg_id, identity: c.identity_pub, skeyId: c.skey_id, skeyPub: c.skey_pub, skeySig: c.skey_sig }, oneTime && { id: oneTime.key_id, pub: oneTime.pub });
  }

  companionLoggedOut(conn: ServerConnection, reason: string): void {
    const c = this.companionOf(conn);
    if (!c) return;
    this.unlink(c);
    this.log("logged_out", { session: conn.sessionId, phone: c.phone, device: c.device, reason });
  }

  private unlink(c: CompanionRow): void {
    this.store.updateCompanion(c.phone, c.device, { status: "logged_out" });
    this.store.clearCompanionPrekeys(c.phone, c.device);
    this.store.clearQueued(c.phone, c.device);
  }

  async ackMessage(conn: ServerConnection, stanza: BinaryNode): Promise<void> {
    const policy = this.ackPolicies.get(conn.sessionId) ?? { mode: "normal" };
    const attrs: Record<string, string> = { class: "message", id: stanza.attrs.id, from: stanza.attrs.to, t: String(unixNow()) };
    if (policy.mode === "refuse") attrs.error = policy.code;
    const send = () => conn.send(node("ack", attrs));
    if (policy.mode === "delay") this.later(policy.ms, send);
    else send();
  }

  /** Automatic receipts are rows in the schedule table, so a restart does not lose them. */
  scheduleAutoReceipts(phone: string, id: string): void {
    const p = this.store.phone(phone);
    if (!p) return;
    const policy = receiptPolicyOf(p);
    const now = Date.now();
    if (policy.delivered === "auto") this.store.schedule(now + policy.delivered_delay_ms, "receipt", { phone, id, type: "delivered" });
    if (policy.read === "auto") {
      const delay = Math.max(policy.read_delay_ms, policy.delivered === "auto" ? policy.delivered_delay_ms : 0);
      this.store.schedule(now + delay, "receipt", { phone, id, type: "read" });
    }
    this.armAlarm();
  }

  private armAlarm(): void {
    const next = this.store.nextDue();
    if (next != null) this.setAlarm(next);
  }

  /** Runs every job that is due (the alarm handler); returns how many ran. */
  runDue(now = Date.now()): number {
    const jobs = this.store.takeDue(now);
    for (const job of jobs) {
      try {
        if (job.kind === "receipt") {
          const { phone, id, type } = job.payload as { phone: string; id: string; type: "delivered" | "read" };
          const p = this.store.phone(phone);
          if (p && this.store.message(phone, id, "in")) sendPhoneReceipts(this, p, [id], type);
        }
      } catch (err) {
        this.log("job_error", { kind: job.kind, error: String(err) });
      }
    }
    this.armAlarm();
    return jobs.length;
  }

  scheduledJobs(): number {
    return this.store.scheduledCount();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      try {
        fn();
      } catch (err) {
        this.log("timer_error", { error: String(err) });
      }
    }, ms);
    this.timers.add(t);
  }

  // ---- linking ----

  async onLinkCode(conn: ServerConnection, iq: BinaryNode): Promise<void> {
    const reg = child(iq, "link_code_companion_reg")!;
    const stage = reg.attrs.stage;
    if (stage === "companion_hello") {
      const phone = parseJid(reg.attrs.jid)?.user ?? "";
      const wrapped = bytesOf(child(reg, "link_code_pairing_wrapped_companion_ephemeral_pub"));
      const authKey = bytesOf(child(reg, "companion_server_auth_key_pub"));
      if (!conn.registration || !wrapped || !authKey?.equals(conn.registration.clientStatic)) return conn.send(iqError(iq, 400, "bad-request"));
      if (!this.store.phone(phone)) {
        this.log("link_code_unknown_phone", { session: conn.sessionId, phone });
        return conn.send(iqError(iq, 404, "item-not-found"));
      }
      const ref = newRef();
      conn.registration.codeRequest = { phone, wrappedEphemeral: wrapped, ref };
      this.log("link_code_requested", { session: conn.sessionId, phone });
      return conn.send(iqResult(iq, [node("link_code_companion_reg", {}, [node("link_code_pairing_ref", {}, Buffer.from(ref))])]));
    }
    if (stage === "companion_finish") {
      const ref = bytesOf(child(reg, "link_code_pairing_ref"))?.toString() ?? "";
      const waiter = this.linkWaiters.get(ref);
      if (!waiter) return conn.send(iqError(iq, 404, "item-not-found"));
      this.linkWaiters.delete(ref);
      return waiter(iq);
    }
    return conn.send(iqError(iq, 400, "bad-request"));
  }

  /** The phone accepts the companion: pair-success, wait for its device signature, record it, 515. */
  private async link(conn: ServerConnection, p: PhoneRow, advSecret: Buffer): Promise<LinkResult> {
    const reg = conn.registration!;
    const device = p.next_device;
    const keyIndex = p.next_key_index;
    this.store.updatePhone(p.phone, { next_device: device + 1, next_key_index: keyIndex + 1 });
    const adv = buildDeviceIdentity(accountKey(p), reg.identityPub, advSecret, keyIndex);
    const res = await conn.query(node("iq", { id: serverId(), type: "set", xmlns: "md", from: SERVER_JID, t: String(unixNow()) }, [
      node("pair-success", {}, [
        node("device-identity", {}, adv.hmacWrapped),
        node("platform", { name: "android" }),
        node("device", { jid: pnJid(p.phone, device), lid: lidJid(p.lid, device) }),
      ]),
    ]));
    const signed = bytesOf(child(child(res, "pair-device-sign"), "device-identity"));
    if (res.attrs.type !== "result" || !signed || !verifyDeviceSign(signed, adv.details, reg.identityPub, p.identity_pub)) {
      conn.end(unknownDevice());
      throw new SandboxError("the companion rejected the pairing or its device signature is invalid", 409);
    }
    this.store.insertCompanion({
      phone: p.phone,
      device,
      session_id: conn.sessionId,
      noise_pub: reg.clientStatic,
      identity_pub: reg.identityPub,
      reg_id: reg.regId,
      skey_id: reg.skeyId,
      skey_pub: reg.skeyPub,
      skey_sig: reg.skeySig,
      key_index: keyIndex,
      platform: reg.platform,
      status: "active",
      history_synced: 0,
      created_at: Date.now(),
    });
    this.log("linked", { session: conn.sessionId, phone: p.phone, device });
    conn.end(restartRequired());
    return { phone_number: p.phone, name: p.name, device, jid: pnJid(p.phone, device), lid: lidJid(p.lid, device), session_id: conn.sessionId };
  }

  private registering(sessionId: string): ServerConnection {
    const conn = this.bySession.get(sessionId);
    if (!conn || conn.state !== "registering" || !conn.registration) {
      throw new SandboxError(`session ${sessionId} has no socket waiting to be linked (not connected, or already linked)`, 409);
    }
    return conn;
  }

  // ---- driver operations ----

  private requirePhone(phoneNumber: string): PhoneRow {
    const phone = normalizePhone(phoneNumber);
    const p = this.store.phone(phone);
    if (!p) throw new SandboxError(`no simulated phone ${phone}`, 404);
    return p;
  }

  private phoneInfo(p: PhoneRow): PhoneInfo {
    return {
      phone_number: p.phone,
      jid: pnJid(p.phone),
      lid: lidJid(p.lid),
      name: p.name,
      banned: !!p.banned,
      receipt_policy: receiptPolicyOf(p),
      linked_devices: this.store.allCompanions().filter((c) => c.phone === p.phone).map((c) => ({
        device: c.device,
        jid: pnJid(c.phone, c.device),
        lid: lidJid(p.lid, c.device),
        session_id: c.session_id,
        status: c.status,
        platform: c.platform,
        connected: this.byDevice.get(deviceKey(c.phone, c.device))?.state === "open",
        linked_at: iso(c.created_at)!,
      })),
      created_at: iso(p.created_at)!,
    };
  }

  createPhone(opts: { phone_number?: string; name?: string; receipt_policy?: Partial<ReceiptPolicy> } = {}): PhoneInfo {
    const row = createPhoneRow(this.store, opts);
    this.log("phone_created", { phone: row.phone });
    return this.phoneInfo(row);
  }

  listPhones(): PhoneInfo[] {
    return this.store.phones().map((p) => this.phoneInfo(p));
  }

  getPhone(phoneNumber: string): PhoneInfo {
    return this.phoneInfo(this.requirePhone(phoneNumber));
  }

  /** The phone scans the QR the session shows (the QR string the client emitted). */
  async scan(sessionId: string, phoneNumber: string, qr: string): Promise<LinkResult> {
    const p = this.requirePhone(phoneNumber);
    if (p.banned) throw new SandboxError(`phone ${p.phone} is banned`, 409);
    const conn = this.registering(sessionId);
    let q;
    try {
      q = parseQr(qr);
    } catch (err) {
      throw new SandboxError(`unreadable QR: ${(err as Error).message}`, 422);
    }
    const reg = conn.registration!;
    if (!reg.refs.includes(q.ref)) throw new SandboxError(`this QR was not issued to session ${sessionId}'s current socket`, 409);
    if (!q.noisePub.equals(reg.clientStatic) || !q.identityPub.equals(reg.identityPub)) {
      throw new SandboxError("the QR's keys do not match the session's socket", 422);
    }
    return this.link(conn, p, q.advSecret);
  }

  /** The phone's user types the code the session shows (after the client asked for a code for this number). */
  async enterPairingCode(phoneNumber: string, code: string): Promise<LinkResult> {
    const p = this.requirePhone(phoneNumber);
    if (p.banned) throw new SandboxError(`phone ${p.phone} is banned`, 409);
    const typed = String(code ?? "").replace(/[\s-]/g, "").toUpperCase();
    if (typed.length !== 8) throw new SandboxError("a pairing code has 8 characters", 422);
    const conn = [...this.bySession.values()].find((c) => c.state === "registering" && c.registration?.codeRequest?.phone === p.phone);
    if (!conn) throw new SandboxError(`no session is waiting for a pairing code for ${p.phone}`, 409);
    const req = conn.registration!.codeRequest!;
    const companionEphemeral = await unwrapWithCode(typed, req.wrappedEphemeral);
    const phoneEphemeral = generateKeyPair();
    const finish = new Promise<BinaryNode>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.linkWaiters.delete(req.ref);
        reject(new SandboxError("the session did not finish the code pairing in time", 409));
      }, 20_000);
      this.linkWaiters.set(req.ref, (iq) => {
        clearTimeout(timer);
        resolve(iq);
      });
    });
    conn.send(node("notification", { from: SERVER_JID, type: "link_code_companion_reg", id: serverId(), t: String(unixNow()) }, [
      node("link_code_companion_reg", { stage: "primary_hello" }, [
        node("link_code_pairing_ref", {}, Buffer.from(req.ref)),
        node("primary_identity_pub", {}, p.identity_pub),
        node("link_code_pairing_wrapped_primary_ephemeral_pub", {}, await wrapWithCode(typed, phoneEphemeral.pub)),
      ]),
    ]));
    const iq = await finish;
    const reg = child(iq, "link_code_companion_reg");
    let advSecret: Buffer;
    try {
      advSecret = openKeyBundle({
        bundle: bytesOf(child(reg, "link_code_pairing_wrapped_key_bundle")) ?? Buffer.alloc(0),
        phoneEphemeral,
        companionEphemeralPub: companionEphemeral,
        phoneIdentity: accountKey(p),
        companionIdentityPub: bytesOf(child(reg, "companion_identity_public")) ?? Buffer.alloc(0),
      });
    } catch {
      conn.send(iqError(iq, 400, "bad-request"));
      throw new SandboxError("the pairing code does not match the one the session shows", 422);
    }
    conn.send(iqResult(iq));
    return this.link(conn, p, advSecret);
  }

  /** A simulated phone sends a message (text, media, location) to a number (normally a linked one). */
  async sendMessage(fromPhone: string, msg: PhoneMessage): Promise<SentByPhone> {
    const from = this.requirePhone(fromPhone);
    if (!msg || typeof msg !== "object") throw new SandboxError("message must be an object", 422);
    const to = this.store.phone(normalizePhone(msg.to));
    if (!to) throw new SandboxError(`${msg.to} is not on WhatsApp in this sandbox`, 404);
    const message = await this.buildMessage(from, msg);
    const { id, devices } = await sendFromPhone(this, from, to, message);
    this.log("phone_sent", { id, from: from.phone, to: to.phone, type: msg.type, devices });
    return this.sentResult(id, from.phone, to.phone, message, devices);
  }

  private sentResult(id: string, from: string, to: string, message: proto.IMessage, devices: number): SentByPhone {
    const row = this.store.message(from, id, "out")!;
    const extra = parseExtra(row.extra);
    return { id, from, to, type: row.type, timestamp: iso(row.timestamp)!, delivered_to_devices: devices, media_sha256: row.media_sha256, file_length: extra.file_length };
  }

  /** Validates a driver message and turns it into the proto a phone would send (media encrypted and uploaded). */
  private async buildMessage(from: PhoneRow, msg: PhoneMessage): Promise<proto.IMessage> {
    if (msg.type === "text") {
      if (typeof msg.text !== "string" || !msg.text.length || msg.text.length > 65_536) throw new SandboxError("text must be 1-65536 characters", 422);
      if (!msg.quoted_id && !msg.mentions?.length) return { conversation: msg.text };
      return { extendedTextMessage: { text: msg.text, contextInfo: { stanzaId: msg.quoted_id, mentionedJid: (msg.mentions ?? []).map((m) => pnJid(normalizePhone(m))) } } };
    }
    if (msg.type === "location") {
      const { latitude, longitude } = msg;
      if (!Number.isFinite(latitude) || Math.abs(latitude) > 90 || !Number.isFinite(longitude) || Math.abs(longitude) > 180) throw new SandboxError("latitude must be -90..90 and longitude -180..180", 422);
      return { locationMessage: { degreesLatitude: latitude, degreesLongitude: longitude, name: msg.name, address: msg.address } };
    }
    if (!MEDIA_TYPES.includes(msg.type)) throw new SandboxError(`type must be one of text, location, ${MEDIA_TYPES.join(", ")}`, 422);
    const type = msg.type;
    let bytes: Buffer;
    if (msg.bytes instanceof Uint8Array) bytes = toBuffer(msg.bytes);
    else if (typeof msg.base64 === "string" && /^[A-Za-z0-9+/=\s_-]*$/.test(msg.base64)) bytes = Buffer.from(msg.base64, "base64");
    else throw new SandboxError("media needs base64 or bytes", 422);
    if (!bytes.length) throw new SandboxError("the media file is empty", 422);
    if (bytes.length > MAX_MEDIA_BYTES) throw new SandboxError(`the media file is larger than ${MAX_MEDIA_BYTES} bytes`, 422);
    const enc = await encryptMedia(bytes, type);
    const { directPath } = this.media.put(enc.file, type, `${from.phone}:0`);
    const common = {
      url: `https://${this.mediaHost()}${directPath}`,
      directPath,
      mediaKey: enc.mediaKey,
      fileSha256: enc.fileSha256,
      fileEncSha256: enc.fileEncSha256,
      fileLength: enc.fileLength,
      mimetype: msg.mimetype ?? DEFAULT_MIMETYPES[type],
      mediaKeyTimestamp: unixNow(),
    };
    switch (type) {
      case "image":
        return { imageMessage: { ...common, caption: msg.caption } };
      case "video":
        return { videoMessage: { ...common, caption: msg.caption } };
      case "audio":
        return { audioMessage: { ...common, ptt: !!msg.ptt } };
      case "document":
        return { documentMessage: { ...common, caption: msg.caption, fileName: msg.filename ?? "file", title: msg.filename ?? "file" } };
      case "sticker":
        return { stickerMessage: { ...common } };
    }
  }

  inbox(phoneNumber: string): InboxMessage[] {
    const p = this.requirePhone(phoneNumber);
    return this.store.messages(p.phone).map((m: MessageRow) => {
      const group = isGroupJid(m.chat_jid) ? m.chat_jid : null;
      const extra = parseExtra(m.extra);
      return {
        id: m.id,
        direction: m.direction,
        from: m.direction === "in" ? m.peer : p.phone,
        to: m.direction === "in" ? (group ?? p.phone) : m.peer,
        from_device: m.from_device,
        chat: group ?? pnJid(m.peer),
        group_jid: group,
        type: m.type,
        text: m.text,
        caption: m.caption,
        media_sha256: m.media_sha256,
        mimetype: m.mimetype,
        ...extra,
        timestamp: iso(m.timestamp)!,
        delivered_at: iso(m.delivered_at),
        read_at: iso(m.read_at),
        revoked_at: iso(extra.revoked_at),
      };
    });
  }

  /** The decrypted file of a media message in a phone's inbox, checked against its hashes. */
  async downloadMedia(phoneNumber: string, messageId: string): Promise<MediaDownload> {
    const p = this.requirePhone(phoneNumber);
    const m = this.store.message(p.phone, messageId, "in") ?? this.store.message(p.phone, messageId, "out");
    if (!m) throw new SandboxError(`phone ${p.phone} has no message ${messageId}`, 404);
    if (!m.media_ref) throw new SandboxError(`message ${messageId} has no media`, 404);
    const { status, plain } = await checkMedia(this, JSON.parse(m.media_ref));
    if (status !== "ok" || !plain) throw new SandboxError(`the media of ${messageId} cannot be opened: ${status}`, 409);
    const extra = parseExtra(m.extra);
    return { id: m.id, type: m.type, mimetype: m.mimetype, file_name: extra.file_name, file_length: plain.length, sha256: m.media_sha256 ?? "", base64: plain.toString("base64") };
  }

  // ---- groups ----

  private requireGroup(jid: string) {
    const g = this.groups.group(String(jid ?? ""));
    if (!g) throw new SandboxError(`no group ${jid}`, 404);
    return g;
  }

  private phoneRow = (phone: string) => this.store.phone(phone);

  /** A phone creates a group with members (simulated phones, the linked account's number among them). */
  createGroup(ownerPhone: string, opts: { subject: string; members: string[] }): GroupInfo {
    const owner = this.requirePhone(ownerPhone);
    const subject = String(opts?.subject ?? "").trim();
    if (!subject || subject.length > 100) throw new SandboxError("subject must be 1-100 characters", 422);
    if (!Array.isArray(opts.members) || !opts.members.length) throw new SandboxError("members must be a non-empty list of phone numbers", 422);
    const members = [...new Set(opts.members.map((m) => normalizePhone(m)))].filter((m) => m !== owner.phone);
    for (const m of members) if (!this.store.phone(m)) throw new SandboxError(`${m} is not on WhatsApp in this sandbox`, 404);
    const g = { jid: newGroupJid(), subject, creator: owner.phone, created_at: Date.now() };
    const rows = [{ phone: owner.phone, admin: "superadmin" as const }, ...members.map((phone) => ({ phone, admin: null }))];
    this.groups.insert(g, rows);
    // Every member's linked devices learn of the group (Baileys: groups.upsert).
    const created = node("create", {}, [groupNode(g, rows, this.phoneRow)]);
    for (const m of rows) {
      for (const c of this.store.activeCompanions(m.phone)) {
        this.deliver(c.phone, c.device, node("notification", {
          from: g.jid, type: "w:gp2", id: serverId(), t: String(unixNow()), participant: pnJid(owner.phone), notify: owner.name,
        }, [created]));
      }
    }
    this.log("group_created", { group: g.jid, owner: owner.phone, members: rows.length });
    return groupInfo(g, rows, this.phoneRow, (ms) => iso(ms)!);
  }

  getGroup(jid: string): GroupInfo {
    const g = this.requireGroup(jid);
    return groupInfo(g, this.groups.members(g.jid), this.phoneRow, (ms) => iso(ms)!);
  }

  /** A member phone sends to a group (sender keys; see sendGroupFromPhone). */
  async sendGroupMessage(fromPhone: string, groupJid: string, msg: GroupMessage): Promise<SentByPhone> {
    const from = this.requirePhone(fromPhone);
    const g = this.requireGroup(groupJid);
    if (!this.groups.members(g.jid).some((m) => m.phone === from.phone)) throw new SandboxError(`${from.phone} is not a member of ${g.jid}`, 409);
    const message = await this.buildMessage(from, { ...msg, to: from.phone } as PhoneMessage);
    const { id, devices } = await sendGroupFromPhone(this, from, g.jid, message);
    this.log("phone_sent_group", { id, from: from.phone, group: g.jid, devices });
    return this.sentResult(id, from.phone, g.jid, message, devices);
  }

  /** w:g2 iq answers for a client: one group's metadata, or all the groups its account is in. */
  groupQuery(conn: ServerConnection, iq: BinaryNode): BinaryNode | "not-found" | "forbidden" {
    const phone = conn.account?.phone;
    const first = iq.content && Array.isArray(iq.content) ? iq.content[0]?.tag : undefined;
    if (first === "participating") {
      const groups = phone ? this.groups.groupsOf(phone) : [];
      return node("groups", {}, groups.map((g) => groupNode(g, this.groups.members(g.jid), this.phoneRow)));
    }
    const g = this.groups.group(iq.attrs.to);
    if (!g) return "not-found";
    const members = this.groups.members(g.jid);
    if (!phone || !members.some((m) => m.phone === phone)) return "forbidden";
    return groupNode(g, members, this.phoneRow);
  }

  sendReceipts(phoneNumber: string, ids: string[], type: "delivered" | "read") {
    const p = this.requirePhone(phoneNumber);
    if (type !== "delivered" && type !== "read") throw new SandboxError('receipt type must be "delivered" or "read"', 422);
    if (!Array.isArray(ids) || !ids.length) throw new SandboxError("ids must be a non-empty list", 422);
    return { phone_number: p.phone, type, receipts: sendPhoneReceipts(this, p, ids, type) };
  }

  setReceiptPolicy(phoneNumber: string, policy: Partial<ReceiptPolicy>): PhoneInfo {
    const p = this.requirePhone(phoneNumber);
    const merged = parseReceiptPolicy({ ...receiptPolicyOf(p), ...policy });
    this.store.updatePhone(p.phone, { receipt_policy: JSON.stringify(merged) });
    return this.phoneInfo(this.store.phone(p.phone)!);
  }

  fault(sessionId: string, kind: FaultKind, opts: FaultOptions = {}) {
    if (!FAULT_KINDS.includes(kind)) throw new SandboxError(`unknown fault "${kind}"; one of ${FAULT_KINDS.join(", ")}`, 422);
    const conn = this.bySession.get(sessionId);
    const live = conn && conn.state !== "closed" ? conn : undefined;
    const companion = live?.account ? this.store.companion(live.account.phone, live.account.device) : this.store.companionsOfSession(sessionId)[0];
    const needLive = () => {
      if (!live) throw new SandboxError(`session ${sessionId} has no open socket`, 409);
      return live;
    };
    const needCompanion = () => {
      if (!companion) throw new SandboxError(`session ${sessionId} is not linked to any simulated phone`, 404);
      return companion;
    };
    switch (kind) {
      case "drop":
        needLive().close(4000, "dropped by sandbox");
        break;
      case "reset":
        // The host resets every socket of this object (see SandboxObject.fault); only checked here.
        needLive();
        break;
      case "silence":
        needLive().silenced = true;
        break;
      case "refuse_upgrade":
      case "http_error": {
        const count = Number(opts.count ?? 2);
        if (!Number.isInteger(count) || count < 1 || count > 100) throw new SandboxError("count must be 1-100", 422);
        const status = Number(opts.status ?? 503);
        if (!Number.isInteger(status) || status < 400 || status > 599) throw new SandboxError("status must be 400-599", 422);
        const socket = needLive();
        this.upgradeFaults.set(sessionId, kind === "refuse_upgrade" ? { kind: "refuse", remaining: count } : { kind: "http_error", status, remaining: count });
        // The client finds out at its next connect: end this one as a server going away does.
        socket.close(1001, "going away");
        break;
      }
      case "stream_error": {
        const code = String(opts.code ?? "500") as StreamErrorCode;
        if (!STREAM_ERROR_CODES.includes(code)) throw new SandboxError(`code must be one of ${STREAM_ERROR_CODES.join(", ")}`, 422);
        const count = Number(opts.count ?? 1);
        if (!Number.isInteger(count) || count < 1 || count > 100) throw new SandboxError("count must be 1-100", 422);
        const socket = needLive();
        if (count > 1) this.loginFaults.set(sessionId, { code, remaining: count - 1 });
        // device_removed is an unlink: the server forgets the device before saying so.
        if (code === "device_removed") this.unlink(needCompanion());
        socket.end(streamError(code));
        break;
      }
      case "logout": {
        const c = needCompanion();
        this.unlink(c);
        this.byDevice.get(deviceKey(c.phone, c.device))?.end(deviceRemoved());
        break;
      }
      case "ban": {
        const c = needCompanion();
        this.store.updatePhone(c.phone, { banned: 1 });
        for (const d of this.store.activeCompanions(c.phone)) this.byDevice.get(deviceKey(d.phone, d.device))?.end(banned());
        break;
      }
      case "replaced":
        needLive().end(replaced());
        break;
      case "delay_acks": {
        const ms = Number(opts.ms ?? 5000);
        if (!Number.isFinite(ms) || ms < 0 || ms > 600_000) throw new SandboxError("ms must be 0-600000", 422);
        this.ackPolicies.set(sessionId, { mode: "delay", ms });
        break;
      }
      case "refuse_acks":
        this.ackPolicies.set(sessionId, { mode: "refuse", code: String(opts.code ?? "500") });
        break;
      case "normal_acks":
        this.ackPolicies.delete(sessionId);
        break;
    }
    this.log("fault", { session: sessionId, kind, ...opts });
    return { session_id: sessionId, kind, applied: true };
  }

  /**
   * The fault (if any) the next upgrade of this session meets; each call uses one up.
   * null: accept the socket.
   */
  takeUpgradeFault(sessionId: string): UpgradeFault | null {
    const fault = this.upgradeFaults.get(sessionId);
    if (!fault) return null;
    if (--fault.remaining <= 0) this.upgradeFaults.delete(sessionId);
    this.log("upgrade_refused", { session: sessionId, kind: fault.kind, ...(fault.kind === "http_error" ? { status: fault.status } : {}) });
    return fault;
  }

  /** Live sockets, for debugging and tests. */
  sockets() {
    return [...this.bySession.values()].map((c) => ({ session_id: c.sessionId, state: c.state, phone_number: c.account?.phone ?? null, device: c.account?.device ?? null }));
  }

  events(limit = 100) {
    return this.store.events(limit);
  }

  /** Decrypting helper for tests of the Signal plumbing. */
  static unpad = unpadMax16;
}
