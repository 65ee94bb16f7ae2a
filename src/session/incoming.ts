import { getContentType, normalizeMessageContent, type WAMessage } from "baileys";
import type { MessageType } from "../domain/outbox-item";

// What a message from WhatsApp is, in the gateway's terms: the message types the API sends, plus the rich ones.

export interface IncomingMedia {
  mimetype: string | null;
  sha256: string | null;
  size: number | null;
  filename: string | null;
}

export interface DescribedMessage {
  type: MessageType;
  content: string | null;
  payload: Record<string, unknown>;
  media: IncomingMedia | null;
}

const hex = (b: Uint8Array | null | undefined) => (b && b.length ? Buffer.from(b).toString("hex") : null);
const num = (n: unknown) => (n === null || n === undefined ? null : Number(n));

function mediaOf(m: { mimetype?: string | null; fileSha256?: Uint8Array | null; fileLength?: unknown; fileName?: string | null }): IncomingMedia {
  return { mimetype: m.mimetype ?? null, sha256: hex(m.fileSha256), size: num(m.fileLength), filename: m.fileName ?? null };
}

/** null for what is not a user message (protocol messages, key distribution, edits, ...). */
export function describeMessage(msg: WAMessage): DescribedMessage | null {
  const message = normalizeMessageContent(msg.message);
  if (!message) return null;
  const kind = getContentType(message);
  const context = (message[kind as keyof typeof message] as { contextInfo?: { stanzaId?: string | null; mentionedJid?: string[] | null } } | undefined)
    ?.contextInfo;
  const common: Record<string, unknown> = {};
  if (context?.stanzaId) common.reply_to_provider_id = context.stanzaId;
  if (context?.mentionedJid?.length) common.mentions = context.mentionedJid.map((j) => j.split("@")[0]);

  switch (kind) {
    case "conversation":
      return { type: "text", content: message.conversation ?? "", payload: common, media: null };
    case "extendedTextMessage":
      return { type: "text", content: message.extendedTextMessage?.text ?? "", payload: common, media: null };
    case "imageMessage":
      return { type: "image", content: message.imageMessage?.caption ?? null, payload: common, media: mediaOf(message.imageMessage!) };
    case "videoMessage":
      return { type: "video", content: message.videoMessage?.caption ?? null, payload: common, media: mediaOf(message.videoMessage!) };
    case "audioMessage":
      return {
        type: "audio",
        content: null,
        payload: { ...common, ptt: Boolean(message.audioMessage?.ptt) },
        media: mediaOf(message.audioMessage!),
      };
    case "documentMessage":
      return {
        type: "document",
        content: message.documentMessage?.caption ?? null,
        payload: { ...common, filename: message.documentMessage?.fileName ?? null },
        media: mediaOf(message.documentMessage!),
      };
    case "stickerMessage":
      return { type: "sticker", content: null, payload: common, media: mediaOf(message.stickerMessage!) };
    case "locationMessage": {
      const l = message.locationMessage!;
      return {
        type: "location",
        content: l.name ?? null,
        payload: { ...common, latitude: l.degreesLatitude, longitude: l.degreesLongitude, name: l.name ?? null, address: l.address ?? null },
        media: null,
      };
    }
    case "contactMessage":
      return {
        type: "contacts",
        content: message.contactMessage?.displayName ?? null,
        payload: { ...common, vcards: [message.contactMessage?.vcard ?? ""] },
        media: null,
      };
    case "contactsArrayMessage":
      return {
        type: "contacts",
        content: message.contactsArrayMessage?.displayName ?? null,
        payload: { ...common, vcards: (message.contactsArrayMessage?.contacts ?? []).map((c) => c.vcard ?? "") },
        media: null,
      };
    case "pollCreationMessage":
    case "pollCreationMessageV2":
    case "pollCreationMessageV3": {
      const poll = message[kind]!;
      return {
        type: "poll",
        content: poll.name ?? null,
        payload: { ...common, poll: { name: poll.name, options: (poll.options ?? []).map((o) => o.optionName), selectable_count: poll.selectableOptionsCount ?? 1 } },
        media: null,
      };
    }
    case "reactionMessage":
      return {
        type: "reaction",
        content: message.reactionMessage?.text ?? null,
        payload: { ...common, reaction: { provider_message_id: message.reactionMessage?.key?.id ?? null, emoji: message.reactionMessage?.text ?? "" } },
        media: null,
      };
    default:
      return null;
  }
}
