import { Buffer } from "node:buffer";
import { type MediaRef, type MediaStatus, type MessageContent, describeMessage } from "./content";
import { proto } from "baileys/WAProto/index.js";
import { decryptMedia } from "./media";
import type { ServerCore } from "./server.core";
import { type PhoneSignalStore, addressOf, encryptFor, hasOpenSession, startSession } from "./signal.store";
import { node, serverId, unixNow } from "./stanzas";
import type { CompanionRow } from "./world.store";

// What a simulated phone does with the server whatever the protocol area: encrypt to a linked
// device, describe a message for its inbox, fetch and check a media file.

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
export async function checkMedia(core: ServerCore, ref: MediaRef): Promise<{ status: MediaStatus; plain?: Buffer }> {
  const file = core.media.get(ref);
  if (!file) return { status: "missing" };
  return decryptMedia(file, ref);
}

/** The stanza type the server puts on a message (what clients use to pick a notification). */
export const stanzaType = (m: proto.IMessage): string => {
  const c = describeMessage(m);
  return c.media ? "media" : c.type === "reaction" ? "reaction" : c.type === "poll" ? "poll" : "text";
};

/** Encrypts with an existing session, or starts one from the companion's uploaded prekeys (→ pkmsg). */
export async function encryptToCompanion(core: ServerCore, store: PhoneSignalStore, c: CompanionRow, plain: Buffer) {
  const addr = addressOf(c.phone, c.device);
  if (!(await hasOpenSession(store, addr))) {
    const fresh = core.store.companion(c.phone, c.device)!;
    const oneTime = core.store.takeCompanionPrekey(c.phone, c.device);
    await startSession(store, addr, {
      registrationId: fresh.reg_id,
      identityKey: fresh.identity_pub,
      signedPreKey: { keyId: fresh.skey_id, publicKey: fresh.skey_pub, signature: fresh.skey_sig },
      preKey: oneTime && { keyId: oneTime.key_id, publicKey: oneTime.pub },
    });
    if (oneTime) notifyIfPrekeysLow(core, c.phone, c.device);
  }
  return encryptFor(store, addr, plain);
}

/**
 * The server's own JID as the real server writes it in `from`: a JID pair with no user, which
 * Baileys decodes as "@s.whatsapp.net" and compares literally (its S_WHATSAPP_NET, e.g. in
 * handleEncryptNotification) and whatsmeow as `types.ServerJID` (binary/decoder.go readJIDPair).
 * The bare token "s.whatsapp.net" would reach Baileys as another string.
 */
export const SERVER_PAIR_JID = "@s.whatsapp.net";

/** Below this many one-time prekeys a client uploads more (Baileys MIN_PREKEY_COUNT, whatsmeow MinPreKeyCount). */
export const PREKEY_LOW_WATER = 5;

/**
 * After a device's one-time prekey was served: the server says how many are left only when they
 * run low (WA Web's PreKeyLow; Baileys and whatsmeow upload on `count < 5`), never on every use.
 */
export function notifyIfPrekeysLow(core: ServerCore, phone: string, device: number): void {
  const left = core.store.companionPrekeyCount(phone, device);
  if (left >= PREKEY_LOW_WATER) return;
  core.log("prekeys_low", { phone, device, count: left });
  core.deliver(phone, device, node("notification", { from: SERVER_PAIR_JID, type: "encrypt", id: serverId(), t: String(unixNow()) }, [
    node("count", { value: String(left) }),
  ]));
}
