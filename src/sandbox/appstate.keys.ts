import { Buffer } from "node:buffer";
import { proto } from "baileys/WAProto/index.js";
import { random, toBuffer } from "./crypto";
import { AppStateStore } from "./appstate.store";
import { encryptToCompanion } from "./phone-side";
import type { ServerCore } from "./server.core";
import { PhoneSignalStore } from "./signal.store";
import { messageId, node, pnJid, unixNow } from "./stanzas";
import type { CompanionRow, PhoneRow } from "./world.store";

// The primary phone's app-state sync keys: it makes one the first time a device links and shares
// every key it has with each new device, in an APP_STATE_SYNC_KEY_SHARE protocol message (Baileys
// Utils/process-message.js stores each `keyData` under base64(keyId) and sets creds.myAppStateKeyId;
// whatsmeow message.go handleAppStateSyncKeyShare stores key, fingerprint, timestamp and resyncs).

/** The phone's keys, made on first use: a 6-byte id (4 zero bytes + 2 random, the shape WA's ids have) and 32 random key bytes. */
export function phoneAppStateKeys(core: ServerCore, phone: PhoneRow): { keyId: Buffer; keyData: proto.Message.IAppStateSyncKeyData }[] {
  const store = new AppStateStore(core.store.sql);
  let rows = store.keys(phone.phone);
  if (rows.length === 0) {
    const keyId = Buffer.concat([Buffer.alloc(4), random(2)]);
    const keyData = proto.Message.AppStateSyncKeyData.encode({
      keyData: random(32),
      // deviceIndexes: the key indexes of the devices that hold the key (0: the phone itself).
      fingerprint: { rawId: random(4).readUInt32BE(0), currentIndex: 0, deviceIndexes: [0] },
      timestamp: Date.now(),
    }).finish();
    store.addKey(phone.phone, keyId, keyData);
    rows = store.keys(phone.phone);
  }
  return rows.map((r) => ({ keyId: Buffer.from(r.key_id), keyData: proto.Message.AppStateSyncKeyData.decode(r.key_data) }));
}

/** The phone sends a newly linked device its app-state sync keys (before any history sync). */
export async function shareAppStateKeys(core: ServerCore, phone: PhoneRow, c: CompanionRow): Promise<void> {
  const keys = phoneAppStateKeys(core, phone);
  const message = proto.Message.encode({
    protocolMessage: {
      type: proto.Message.ProtocolMessage.Type.APP_STATE_SYNC_KEY_SHARE,
      appStateSyncKeyShare: { keys: keys.map((k) => ({ keyId: { keyId: k.keyId }, keyData: k.keyData })) },
    },
  }).finish();
  const enc = await encryptToCompanion(core, new PhoneSignalStore(core.store, phone), c, toBuffer(message));
  const id = messageId();
  core.deliver(c.phone, c.device, node("message", { from: pnJid(phone.phone), id, t: String(unixNow()), type: "text", category: "peer", notify: phone.name }, [
    node("enc", { v: "2", type: enc.type }, enc.ciphertext),
  ]));
  core.log("app_state_keys_shared", { phone: phone.phone, device: c.device, session: c.session_id, id, keys: keys.map((k) => k.keyId.toString("base64")) });
}
