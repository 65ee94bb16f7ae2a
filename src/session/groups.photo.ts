import { S_WHATSAPP_NET, type WASocket } from "baileys";
import { refuse } from "./groups.errors";
import { downloadMedia, MediaDownloadError } from "./media-download";

// A group's picture. Baileys' updateProfilePicture re-encodes the image with sharp or jimp,
// neither of which runs in workerd, so the JPEG is sent as given, in the iq Baileys builds
// (Socket/chats.js updateProfilePicture: w:profile:picture set, target = the group).

/** Downloads `url` under the message-media rules; only a JPEG is taken (WhatsApp stores JPEG). */
export async function fetchGroupPhoto(env: Env, url: string): Promise<Uint8Array> {
  try {
    const media = await downloadMedia(env, "image", url);
    if (media.mimetype !== "image/jpeg") throw new MediaDownloadError("unsupported_media_type", true, `a group photo must be a JPEG, not ${media.mimetype}`);
    return media.bytes;
  } catch (err) {
    if (!(err instanceof MediaDownloadError)) throw err;
    throw refuse({ status: 422, code: err.code, message: `photo_url: ${err.message}.` });
  }
}

export async function setGroupPhoto(socket: WASocket, groupJid: string, jpeg: Uint8Array): Promise<void> {
  await socket.query({
    tag: "iq",
    attrs: { to: S_WHATSAPP_NET, type: "set", xmlns: "w:profile:picture", target: groupJid },
    content: [{ tag: "picture", attrs: { type: "image" }, content: jpeg }],
  });
}
