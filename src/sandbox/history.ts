import { deflateSync } from "node:zlib";
import { proto } from "baileys/WAProto/index.js";
import { toBuffer } from "./crypto";
import { encryptToCompanion } from "./phone-side";
import type { ServerCore } from "./server.core";
import { PhoneSignalStore } from "./signal.store";
import { messageId, node, pnJid, unixNow } from "./stanzas";
import type { CompanionRow, PhoneRow } from "./world.store";

/**
 * The phone's INITIAL_BOOTSTRAP history sync (inline payload), sent to a newly linked companion so
 * the client stops waiting for history; its push name tells the client the account's display name.
 */
export async function pushHistorySync(core: ServerCore, phone: PhoneRow, c: CompanionRow): Promise<void> {
  const contacts = core.store.phones().filter((p) => p.phone !== phone.phone);
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
  const store = new PhoneSignalStore(core.store, phone);
  const enc = await encryptToCompanion(core, store, c, toBuffer(message));
  core.deliver(c.phone, c.device, node("message", { from: pnJid(phone.phone), id: messageId(), t: String(unixNow()), type: "text", category: "peer", notify: phone.name }, [
    node("enc", { v: "2", type: enc.type }, enc.ciphertext),
  ]));
}

