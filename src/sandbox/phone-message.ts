import { Buffer } from "node:buffer";
import type { proto } from "baileys/WAProto/index.js";
import type { MediaType } from "./content";
import { toBuffer } from "./crypto";
import type { PhoneMessageContent } from "./driver.schemas";
import { SandboxError } from "./errors";
import { MAX_MEDIA_BYTES, encryptMedia } from "./media";
import { normalizePhone } from "./phones";
import type { ServerCore } from "./server.core";
import { pnJid, unixNow } from "./stanzas";
import type { PhoneRow } from "./world.store";

const DEFAULT_MIMETYPES: Record<MediaType, string> = {
  image: "image/jpeg",
  video: "video/mp4",
  audio: "audio/ogg; codecs=opus",
  document: "application/octet-stream",
  sticker: "image/webp",
};

/** Turns a (validated) driver message into the proto a phone would send; media is encrypted and uploaded. */
export async function buildPhoneMessage(core: ServerCore, from: PhoneRow, msg: PhoneMessageContent): Promise<proto.IMessage> {
  if (msg.type === "text") {
    if (!msg.quoted_id && !msg.mentions?.length) return { conversation: msg.text };
    return { extendedTextMessage: { text: msg.text, contextInfo: { stanzaId: msg.quoted_id, mentionedJid: (msg.mentions ?? []).map((m) => pnJid(normalizePhone(m))) } } };
  }
  if (msg.type === "location") {
    return { locationMessage: { degreesLatitude: msg.latitude, degreesLongitude: msg.longitude, name: msg.name, address: msg.address } };
  }
  const type = msg.type;
  const bytes = "bytes" in msg ? toBuffer(msg.bytes) : Buffer.from(msg.base64, "base64");
  if (!bytes.length) throw new SandboxError("the media file is empty", 422);
  if (bytes.length > MAX_MEDIA_BYTES) throw new SandboxError(`the media file is larger than ${MAX_MEDIA_BYTES} bytes`, 422);
  const enc = await encryptMedia(bytes, type);
  const { directPath } = core.media.put(enc.file, type, `${from.phone}:0`);
  const common = {
    url: `https://${core.mediaHost()}${directPath}`,
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
