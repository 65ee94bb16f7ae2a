import { Buffer } from "node:buffer";
import { proto } from "baileys/WAProto/index.js";
import type { ServerConnection } from "./connection";
import { type KeyPair, generateKeyPair, readBigEndian, toBuffer } from "./crypto";
import { SandboxError } from "./errors";
import { banned, replaced, restartRequired, unknownDevice } from "./faults";
import { buildDeviceIdentity, newRef, openKeyBundle, parseQr, unwrapWithCode, verifyDeviceSign, wrapWithCode } from "./pairing";
import { accountKey } from "./phones";
import type { ServerCore } from "./server.core";
import { platformRefusal } from "./platform";
import { type BinaryNode, SERVER_JID, bytesOf, child, iqError, iqResult, lidJid, node, parseJid, pnJid, serverId, textOf, unixNow } from "./stanzas";
import type { PhoneRow } from "./world.store";

export interface LinkResult {
  phone_number: string;
  name: string;
  device: number;
  jid: string;
  lid: string;
  session_id: string;
}

/**
 * Linking and login, seen from the server (Baileys Socket/socket.js: the ClientPayload after the
 * Noise handshake, `pair-device`, `pair-success`, requestPairingCode, logout; Socket/messages-recv.js:
 * the `link_code_companion_reg` notification that finishes a code pairing).
 */
export class LinkingHandler {
  private readonly linkWaiters = new Map<string, (iq: BinaryNode) => void>();

  constructor(private readonly core: ServerCore) {}

  /** The ClientPayload: registration data (a new companion to pair) or a login of a linked one. */
  async onClientPayload(conn: ServerConnection, clientStatic: Buffer, bytes: Buffer): Promise<void> {
    const { core } = this;
    const payload = proto.ClientPayload.decode(bytes);
    const previous = core.bySessionId(conn.sessionId);
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
      core.registered(conn);
      core.log("registration_started", { session: conn.sessionId });
      conn.send(node("iq", { id: serverId(), type: "set", xmlns: "md", from: SERVER_JID }, [
        node("pair-device", {}, conn.registration.refs.map((r) => node("ref", {}, Buffer.from(r)))),
      ]));
      return;
    }
    const phone = String(payload.username ?? "");
    const device = Number(payload.device ?? 0);
    const p = core.store.phone(phone);
    const c = core.store.companion(phone, device);
    if (p?.banned) {
      core.log("login_refused", { session: conn.sessionId, phone, device, reason: "banned" });
      return conn.end(banned());
    }
    if (!p || !c || c.status !== "active" || !c.noise_pub.equals(clientStatic)) {
      core.log("login_refused", { session: conn.sessionId, phone, device, reason: !c ? "unknown device" : c.status !== "active" ? "logged out" : "noise key mismatch" });
      return conn.end(unknownDevice());
    }
    // A fault may answer this login with a failure or a stream error instead (faults.handler.ts).
    const refusal = core.loginRefusal(conn, phone, device);
    if (refusal) return conn.end(refusal);
    const existing = core.byDeviceOf(phone, device);
    if (existing && existing !== conn && existing.state !== "closed") existing.end(replaced());
    conn.account = { phone, device };
    conn.state = "open";
    core.loggedIn(conn, phone, device);
    conn.send(node("success", {
      t: String(unixNow()),
      props: "1",
      abprops: "1",
      location: "sandbox",
      creation: String(Math.floor(c.created_at / 1000)),
      lid: lidJid(p.lid, device),
    }));
    // What waited for the device is counted by the offline phase (its `offline_preview` event).
    core.log("login", { session: conn.sessionId, phone, device });
    // What waited for the device: preview, batches, `<ib><offline/>`; then the login is complete.
    core.offline.begin(conn, phone, device);
  }

  /** `md` set `link_code_companion_reg`: the client asks for a pairing code, then finishes the code pairing. */
  async onLinkCode(conn: ServerConnection, iq: BinaryNode): Promise<void> {
    const reg = child(iq, "link_code_companion_reg")!;
    const stage = reg.attrs.stage;
    if (stage === "companion_hello") {
      const phone = parseJid(reg.attrs.jid)?.user ?? "";
      const wrapped = bytesOf(child(reg, "link_code_pairing_wrapped_companion_ephemeral_pub"));
      const authKey = bytesOf(child(reg, "companion_server_auth_key_pub"));
      if (!conn.registration || !wrapped || !authKey?.equals(conn.registration.clientStatic)) return conn.send(iqError(iq, 400, "bad-request"));
      const display = textOf(child(reg, "companion_platform_display"));
      const refusal = platformRefusal(display, textOf(child(reg, "companion_platform_id")));
      if (refusal) {
        this.core.log("link_code_refused", { session: conn.sessionId, phone, platform_display: display ?? null, code: 400, why: refusal });
        return conn.send(iqError(iq, 400, "bad-request"));
      }
      if (!this.core.store.phone(phone)) {
        this.core.log("link_code_unknown_phone", { session: conn.sessionId, phone });
        return conn.send(iqError(iq, 404, "item-not-found"));
      }
      const ref = newRef();
      conn.registration.codeRequest = { phone, wrappedEphemeral: wrapped, ref };
      this.core.log("link_code_requested", { session: conn.sessionId, phone, platform_display: display });
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

  /** `md` set `remove-companion-device`: the client logs itself out. */
  onRemoveCompanion(conn: ServerConnection, iq: BinaryNode): void {
    const c = this.core.companionOf(conn);
    if (c) {
      this.core.unlink(c);
      this.core.log("logged_out", { session: conn.sessionId, phone: c.phone, device: c.device, reason: "client logout" });
    }
    conn.send(iqResult(iq));
  }

  /** The phone scans the QR the session shows (the QR string the client emitted). */
  async scan(sessionId: string, p: PhoneRow, qr: string): Promise<LinkResult> {
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
  async enterPairingCode(p: PhoneRow, typed: string): Promise<LinkResult> {
    const conn = this.core.connections().find((c) => c.state === "registering" && c.registration?.codeRequest?.phone === p.phone);
    if (!conn) throw new SandboxError(`no session is waiting for a pairing code for ${p.phone}`, 409);
    const req = conn.registration!.codeRequest!;
    const companionEphemeral = await unwrapWithCode(typed, req.wrappedEphemeral);
    const phoneEphemeral = generateKeyPair();
    const finish = this.waitForFinish(req.ref);
    conn.send(node("notification", { from: SERVER_JID, type: "link_code_companion_reg", id: serverId(), t: String(unixNow()) }, [
      node("link_code_companion_reg", { stage: "primary_hello" }, [
        node("link_code_pairing_ref", {}, Buffer.from(req.ref)),
        node("primary_identity_pub", {}, p.identity_pub),
        node("link_code_pairing_wrapped_primary_ephemeral_pub", {}, await wrapWithCode(typed, phoneEphemeral.pub)),
      ]),
    ]));
    const iq = await finish;
    const advSecret = this.openBundle(conn, iq, p, phoneEphemeral, companionEphemeral);
    conn.send(iqResult(iq));
    return this.link(conn, p, advSecret);
  }

  private waitForFinish(ref: string): Promise<BinaryNode> {
    return new Promise<BinaryNode>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.linkWaiters.delete(ref);
        reject(new SandboxError("the session did not finish the code pairing in time", 409));
      }, 20_000);
      this.linkWaiters.set(ref, (iq) => {
        clearTimeout(timer);
        resolve(iq);
      });
    });
  }

  private openBundle(conn: ServerConnection, iq: BinaryNode, p: PhoneRow, phoneEphemeral: KeyPair, companionEphemeral: Buffer): Buffer {
    const reg = child(iq, "link_code_companion_reg");
    try {
      return openKeyBundle({
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
  }

  /** The phone accepts the companion: pair-success, wait for its device signature, record it, 515. */
  private async link(conn: ServerConnection, p: PhoneRow, advSecret: Buffer): Promise<LinkResult> {
    const { store } = this.core;
    const reg = conn.registration!;
    const device = p.next_device;
    const keyIndex = p.next_key_index;
    store.updatePhone(p.phone, { next_device: device + 1, next_key_index: keyIndex + 1 });
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
    store.insertCompanion({
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
    this.core.log("linked", { session: conn.sessionId, phone: p.phone, device });
    conn.end(restartRequired());
    return { phone_number: p.phone, name: p.name, device, jid: pnJid(p.phone, device), lid: lidJid(p.lid, device), session_id: conn.sessionId };
  }

  private registering(sessionId: string): ServerConnection {
    const conn = this.core.bySessionId(sessionId);
    if (!conn || conn.state !== "registering" || !conn.registration) {
      throw new SandboxError(`session ${sessionId} has no socket waiting to be linked (not connected, or already linked)`, 409);
    }
    return conn;
  }
}
