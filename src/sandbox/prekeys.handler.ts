import { Buffer } from "node:buffer";
import type { ServerConnection } from "./connection";
import { bigEndian, readBigEndian } from "./crypto";
import { shareAppStateKeys } from "./appstate.keys";
import { pushHistorySync } from "./history";
import { notifyIfPrekeysLow } from "./phone-side";
import { replenishPrekeys } from "./phones";
import type { ServerCore } from "./server.core";
import { type BinaryNode, bytesOf, child, children, iqError, iqResult, node, parseJid } from "./stanzas";

// Signal prekeys, seen from the server (Baileys Socket/socket.js uploadPreKeys, getAvailablePreKeysOnServer,
// rotateSignedPreKey, digestKeyBundle; Utils/signal.js fetching key bundles for new sessions).

/** encrypt get `<count>`: how many one-time prekeys the server holds for this device. */
export function onPrekeyCount(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  const count = conn.account ? core.store.companionPrekeyCount(conn.account.phone, conn.account.device) : 0;
  conn.send(iqResult(iq, [node("count", { value: String(count) })]));
}

/** encrypt set `<registration>` + `<list>` + `<skey>`: a prekey upload; the first one after linking brings the app-state key share and the history sync. */
export async function onPrekeyUpload(core: ServerCore, conn: ServerConnection, iq: BinaryNode): Promise<void> {
  const keys = children(child(iq, "list"), "key").map((k) => ({ id: readBigEndian(bytesOf(child(k, "id"))!), pub: bytesOf(child(k, "value"))! }));
  if (!conn.account) return conn.send(iqError(iq, 401, "not-authorized"));
  const { phone, device } = conn.account;
  core.store.addCompanionPrekeys(phone, device, keys);
  rotateSignedPrekey(core, conn, child(iq, "skey"));
  core.log("prekeys_uploaded", { phone, device, count: keys.length });
  conn.send(iqResult(iq));
  const c = core.companionOf(conn);
  if (!c || c.history_synced) return;
  // One run per device at a time (a second upload while the first is building waits it out). The flag is
  // stored only after both went out: a throw or an eviction part-way sends them again next upload.
  const key = `${c.phone}:${c.device}`;
  if (syncing.has(key)) return;
  syncing.add(key);
  try {
    // As a real phone does: its app-state keys first, then the history (the client resyncs app state after both).
    const primary = core.store.phone(c.phone)!;
    const companion = core.store.companion(c.phone, c.device)!;
    await shareAppStateKeys(core, primary, companion);
    await pushHistorySync(core, primary, companion);
    core.store.updateCompanion(c.phone, c.device, { history_synced: 1 });
  } finally {
    syncing.delete(key);
  }
}

/** Devices whose key share and history are being built in this isolate. */
const syncing = new Set<string>();

/** encrypt get `<digest>`: the client checks its key bundle; an empty digest satisfies Baileys. */
export function onDigest(_core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  conn.send(iqResult(iq, [node("digest", {})]));
}

/** encrypt set `<rotate><skey/></rotate>`: a new signed prekey. */
export function onRotate(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  rotateSignedPrekey(core, conn, child(child(iq, "rotate"), "skey"));
  conn.send(iqResult(iq));
}

/** encrypt get `<key><user jid/>…</key>`: a prekey bundle per device asked for. */
export function onKeyFetch(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  conn.send(iqResult(iq, [node("list", {}, children(child(iq, "key"), "user").map((u) => keyBundle(core, u.attrs.jid)))]));
}

function rotateSignedPrekey(core: ServerCore, conn: ServerConnection, skey: BinaryNode | undefined): void {
  if (!conn.account || !skey) return;
  const id = bytesOf(child(skey, "id"));
  const value = bytesOf(child(skey, "value"));
  const sig = bytesOf(child(skey, "signature"));
  if (!id || !value || !sig) return;
  core.store.updateCompanion(conn.account.phone, conn.account.device, { skey_id: readBigEndian(id), skey_pub: value, skey_sig: sig });
}

/** `<user>` of a key-fetch reply: device 0 is the phone itself, other devices are companions' uploads. */
function keyBundle(core: ServerCore, jid: string): BinaryNode {
  const { store } = core;
  const target = parseJid(jid);
  const phone = target && core.resolveUser(jid);
  if (!target || !phone || phone.banned) return bundleNode(jid, undefined);
  if (target.device === 0) {
    const oneTime = store.servePhonePrekey(phone.phone);
    replenishPrekeys(store, phone);
    return bundleNode(jid, { regId: phone.reg_id, identity: phone.identity_pub, skeyId: phone.spk_id, skeyPub: phone.spk_pub, skeySig: phone.spk_sig }, oneTime && { id: oneTime.key_id, pub: oneTime.pub });
  }
  const c = store.companion(phone.phone, target.device);
  if (!c || c.status !== "active") return bundleNode(jid, undefined);
  const oneTime = store.takeCompanionPrekey(c.phone, c.device);
  if (oneTime) notifyIfPrekeysLow(core, c.phone, c.device);
  return bundleNode(jid, { regId: c.reg_id, identity: c.identity_pub, skeyId: c.skey_id, skeyPub: c.skey_pub, skeySig: c.skey_sig }, oneTime && { id: oneTime.key_id, pub: oneTime.pub });
}

/** A `<user>` of the key-fetch result: a prekey bundle, or 404 for numbers not on WhatsApp. */
function bundleNode(jid: string, owner: { regId: number; identity: Buffer; skeyId: number; skeyPub: Buffer; skeySig: Buffer } | undefined, oneTime?: { id: number; pub: Buffer }): BinaryNode {
  if (!owner) return node("user", { jid }, [node("error", { code: "404", text: "item-not-found" })]);
  const content: BinaryNode[] = [
    node("registration", {}, bigEndian(owner.regId, 4)),
    node("type", {}, Buffer.from([5])),
    node("identity", {}, owner.identity),
    node("skey", {}, [node("id", {}, bigEndian(owner.skeyId, 3)), node("value", {}, owner.skeyPub), node("signature", {}, owner.skeySig)]),
  ];
  if (oneTime) content.push(node("key", {}, [node("id", {}, bigEndian(oneTime.id, 3)), node("value", {}, oneTime.pub)]));
  return node("user", { jid }, content);
}
