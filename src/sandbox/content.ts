import { Buffer } from "node:buffer";
import type { proto } from "baileys/WAProto/index.js";
import { toBuffer } from "./crypto";

export const MEDIA_TYPES = ["image", "video", "audio", "document", "sticker"] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

/** Where a media message's encrypted file is and how to open it (kept to download it later). */
export interface MediaRef {
  media_type: MediaType;
  url: string | null;
  direct_path: string | null;
  media_key: string; // base64
  file_enc_sha256: string | null; // base64
  file_sha256: string | null; // base64
}

/** Everything an inbox shows beyond type/text/caption/mimetype/sha256. */
export interface MessageExtra {
  file_length: number | null;
  file_name: string | null;
  ptt: boolean | null;
  /** Result of fetching and checking the media: ok, or why not. */
  media_status: MediaStatus | null;
  location: { latitude: number; longitude: number; name: string | null; address: string | null } | null;
  contacts: { display_name: string | null; vcard: string | null }[] | null;
  poll: { name: string; options: string[]; selectable_count: number } | null;
  reaction: { emoji: string; target_id: string | null } | null;
  quoted_id: string | null;
  mentions: string[];
  /** Group messages: the author's phone number. */
  participant: string | null;
  /** Set when the sender deleted it for everyone (epoch ms; the inbox shows ISO). */
  revoked_at: number | null;
}

export type MediaStatus = "ok" | "missing" | "enc_hash_mismatch" | "mac_mismatch" | "decrypt_failed" | "hash_mismatch" | "no_key";

export interface MessageContent {
  type: string;
  text: string | null;
  caption: string | null;
  media_sha256: string | null;
  mimetype: string | null;
  extra: MessageExtra;
  media: MediaRef | null;
}

export const emptyExtra = (): MessageExtra => ({
  file_length: null,
  file_name: null,
  ptt: null,
  media_status: null,
  location: null,
  contacts: null,
  poll: null,
  reaction: null,
  quoted_id: null,
  mentions: [],
  participant: null,
  revoked_at: null,
});

const b64 = (u: Uint8Array | null | undefined): string | null => (u && u.length ? toBuffer(u).toString("base64") : null);
const hex = (u: Uint8Array | null | undefined): string | null => (u && u.length ? toBuffer(u).toString("hex") : null);
const num = (v: unknown): number | null => (v == null ? null : Number(v));

/** Peels the containers a message can travel in (ephemeral, view once, document with caption). */
export function unwrapMessage(m: proto.IMessage): proto.IMessage {
  for (let i = 0; i < 5; i++) {
    const inner = m.ephemeralMessage?.message ?? m.viewOnceMessage?.message ?? m.viewOnceMessageV2?.message ??
      m.viewOnceMessageV2Extension?.message ?? m.documentWithCaptionMessage?.message ?? m.deviceSentMessage?.message;
    if (!inner) return m;
    m = inner;
  }
  return m;
}

const IGNORED_KEYS = new Set(["messageContextInfo", "senderKeyDistributionMessage"]);

/** What an inbox shows of a decrypted proto.Message. */
export function describeMessage(raw: proto.IMessage): MessageContent {
  const m = unwrapMessage(raw);
  const extra = emptyExtra();
  const out = (type: string, fields: Partial<Omit<MessageContent, "type" | "extra">> = {}, context?: proto.IContextInfo | null): MessageContent => {
    if (context) {
      extra.quoted_id = context.stanzaId ?? null;
      extra.mentions = [...(context.mentionedJid ?? [])];
    }
    return { type, text: null, caption: null, media_sha256: null, mimetype: null, media: null, ...fields, extra };
  };

  const mediaKind: [MediaType, proto.Message.IImageMessage | proto.Message.IVideoMessage | proto.Message.IAudioMessage | proto.Message.IDocumentMessage | proto.Message.IStickerMessage | null | undefined][] = [
    ["image", m.imageMessage],
    ["video", m.videoMessage ?? m.ptvMessage],
    ["audio", m.audioMessage],
    ["document", m.documentMessage],
    ["sticker", m.stickerMessage],
  ];
  for (const [type, media] of mediaKind) {
    if (!media) continue;
    extra.file_length = num(media.fileLength);
    if (type === "document") extra.file_name = (media as proto.Message.IDocumentMessage).fileName ?? null;
    if (type === "audio") extra.ptt = !!(media as proto.Message.IAudioMessage).ptt;
    const ref: MediaRef | null = media.mediaKey?.length
      ? {
        media_type: type,
        url: media.url ?? null,
        direct_path: media.directPath ?? null,
        media_key: b64(media.mediaKey)!,
        file_enc_sha256: b64(media.fileEncSha256),
        file_sha256: b64(media.fileSha256),
      }
      : null;
    if (!ref) extra.media_status = "no_key";
    return out(type, {
      caption: ("caption" in media ? media.caption : null) ?? null,
      media_sha256: hex(media.fileSha256),
      mimetype: media.mimetype ?? null,
      media: ref,
    }, media.contextInfo);
  }
  if (m.conversation != null) return out("text", { text: m.conversation });
  if (m.extendedTextMessage) return out("text", { text: m.extendedTextMessage.text ?? "" }, m.extendedTextMessage.contextInfo);
  const loc = m.locationMessage ?? m.liveLocationMessage;
  if (loc) {
    extra.location = {
      latitude: Number(loc.degreesLatitude ?? 0),
      longitude: Number(loc.degreesLongitude ?? 0),
      name: ("name" in loc ? loc.name : null) ?? null,
      address: ("address" in loc ? loc.address : null) ?? null,
    };
    return out(m.locationMessage ? "location" : "live_location", {}, loc.contextInfo);
  }
  if (m.contactMessage) {
    extra.contacts = [{ display_name: m.contactMessage.displayName ?? null, vcard: m.contactMessage.vcard ?? null }];
    return out("contact", {}, m.contactMessage.contextInfo);
  }
  if (m.contactsArrayMessage) {
    extra.contacts = (m.contactsArrayMessage.contacts ?? []).map((c) => ({ display_name: c.displayName ?? null, vcard: c.vcard ?? null }));
    return out("contacts", { text: m.contactsArrayMessage.displayName ?? null }, m.contactsArrayMessage.contextInfo);
  }
  const poll = m.pollCreationMessage ?? m.pollCreationMessageV2 ?? m.pollCreationMessageV3;
  if (poll) {
    extra.poll = { name: poll.name ?? "", options: (poll.options ?? []).map((o) => o.optionName ?? ""), selectable_count: poll.selectableOptionsCount ?? 0 };
    return out("poll", {}, poll.contextInfo);
  }
  if (m.reactionMessage) {
    extra.reaction = { emoji: m.reactionMessage.text ?? "", target_id: m.reactionMessage.key?.id ?? null };
    return out("reaction");
  }
  const other = Object.keys(m).find((k) => !IGNORED_KEYS.has(k)) ?? "unknown";
  return out(other.replace(/Message$/, ""));
}

export const parseExtra = (json: string | null): MessageExtra => ({ ...emptyExtra(), ...(json ? (JSON.parse(json) as Partial<MessageExtra>) : {}) });

