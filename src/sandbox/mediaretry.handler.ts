import { Buffer } from "node:buffer";
import { proto } from "baileys/WAProto/index.js";
import type { ServerConnection } from "./connection";
import type { MediaRef } from "./content";
import { aesGcmDecrypt, aesGcmEncrypt, hkdf, random, toBuffer } from "./crypto";
import type { ServerCore } from "./server.core";
import { SERVER_PAIR_JID } from "./phone-side";
import { type BinaryNode, bytesOf, child, node, unixNow } from "./stanzas";

// Media re-upload requests. After the media host answers 404/410 a client asks the sender's
// phone to upload the file again (Baileys Socket/messages-send.js updateMediaMessage and
// Utils/messages-media.js encryptMediaRetryRequest; whatsmeow mediaretry.go SendMediaRetryReceipt):
// `<receipt id to=own-jid type="server-error"><encrypt><enc_p/><enc_iv/></encrypt><rmr jid from_me [participant]/>`,
// enc_p being a ServerErrorReceipt sealed with the media retry key. The phone answers through the
// server with `<notification type="mediaretry" id><rmr …/><encrypt><enc_p/><enc_iv/></encrypt>`
// (a sealed MediaRetryNotification: new direct path and result), or `<error code>` when it has no
// such message (Baileys decodeMediaRetryNode, whatsmeow parseMediaRetryNotification).

const { ResultType } = proto.MediaRetryNotification;

/** HKDF of the message's media key (both clients: no salt, info "WhatsApp Media Retry Notification"). */
const retryKey = (mediaKey: Buffer): Buffer => hkdf(mediaKey, 32, undefined, "WhatsApp Media Retry Notification");

/** `<receipt type="server-error">`: acked at once; the sender's phone answers unless it never does (fault). */
export function onMediaRetryRequest(core: ServerCore, conn: ServerConnection, receipt: BinaryNode): void {
  const { id } = receipt.attrs;
  conn.send(node("ack", { id, class: "receipt", type: "server-error", from: receipt.attrs.to }));
  const rmr = child(receipt, "rmr");
  if (!conn.account || !id || !rmr) return;
  if (core.unansweredMediaRetries.has(conn.sessionId)) {
    core.log("mediaretry_unanswered", { session: conn.sessionId, id });
    return;
  }
  const sender = core.resolveUser(rmr.attrs.participant ?? rmr.attrs.jid ?? "");
  const sent = sender && core.store.message(sender.phone, id, "out");
  const ref = sent?.media_ref ? (JSON.parse(sent.media_ref) as MediaRef) : undefined;
  const answer = (content: BinaryNode) =>
    conn.send(node("notification", { from: SERVER_PAIR_JID, type: "mediaretry", id, t: String(unixNow()) }, [node("rmr", rmr.attrs), content]));
  if (!sender || !ref) {
    core.log("mediaretry", { session: conn.sessionId, id, result: "not_found" });
    return answer(node("error", { code: String(ResultType.NOT_FOUND) }));
  }
  const key = retryKey(Buffer.from(ref.media_key, "base64"));
  const result = reupload(core, sender.phone, ref, key, id, child(receipt, "encrypt"));
  core.log("mediaretry", { session: conn.sessionId, id, result: ResultType[result.result].toLowerCase() });
  const iv = random(12);
  const sealed = aesGcmEncrypt(proto.MediaRetryNotification.encode({ stanzaId: id, ...result }).finish(), key, iv, Buffer.from(id));
  answer(node("encrypt", {}, [node("enc_p", {}, sealed), node("enc_iv", {}, iv)]));
}

/** The phone checks the request opens with its media key, then uploads the file it kept again (a new direct path). */
function reupload(core: ServerCore, phone: string, ref: MediaRef, key: Buffer, id: string, encrypt: BinaryNode | undefined) {
  const sealed = bytesOf(child(encrypt, "enc_p"));
  const iv = bytesOf(child(encrypt, "enc_iv"));
  try {
    if (!sealed || !iv || proto.ServerErrorReceipt.decode(aesGcmDecrypt(sealed, key, iv, Buffer.from(id))).stanzaId !== id) throw new Error("mismatch");
  } catch {
    return { result: ResultType.DECRYPTION_ERROR };
  }
  const file = core.media.get(ref);
  if (!file) return { result: ResultType.NOT_FOUND };
  return { result: ResultType.SUCCESS, directPath: core.media.put(toBuffer(file), ref.media_type, phone).directPath };
}
