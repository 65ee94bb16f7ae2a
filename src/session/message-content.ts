import type { AnyMessageContent, MiscMessageGenerationOptions, WAMessage } from "baileys";
import { chatJid, phoneToJid } from "../domain/phone";
import { toVCard, type ContactCard } from "../domain/vcard";
import type { OutboxItem } from "../domain/outbox-item";

// Turns an accepted message (validated by the API) into what Baileys' sendMessage takes.

export interface FetchedMedia {
  bytes: Uint8Array;
  mimetype: string;
}

/** A message this one refers to (reply or reaction), resolved from D1 by the session. */
export interface MessageRef {
  providerMessageId: string;
  fromMe: boolean;
  /** the chat the referenced message is in: digits, or a group id */
  chat: string;
  /** In a group, who wrote it (a jid) when it is not ours: WhatsApp finds the message by chat, author and id. */
  participant?: string;
  text: string | null;
}

export interface BuiltMessage {
  content: AnyMessageContent;
  options: MiscMessageGenerationOptions;
}

interface Payload {
  filename?: string;
  mimetype?: string;
  ptt?: boolean;
  latitude?: number;
  longitude?: number;
  name?: string;
  address?: string;
  url?: string;
  contacts?: ContactCard[];
  poll?: { name: string; options: string[]; selectable_count?: number };
  reaction?: { message_id: string; emoji: string };
  reply_to?: string;
  mentions?: string[];
  mention_all?: boolean;
}

export function buildMessage(
  item: OutboxItem,
  waId: string,
  media: FetchedMedia | null,
  refs: { replyTo?: MessageRef; reactTo?: MessageRef },
  /** mention_all: the group's participants (jids) as the session resolved them. */
  everyone: string[] = [],
): BuiltMessage {
  const p = (item.payload ?? {}) as Payload;
  const caption = item.content ?? undefined;
  const named = p.mentions?.map(phoneToJid) ?? [];
  const all = p.mention_all ? [...new Set([...named, ...everyone])] : named;
  const mentions = all.length > 0 ? all : undefined;
  const options: MiscMessageGenerationOptions = { messageId: waId };
  if (refs.replyTo) options.quoted = quotedMessage(refs.replyTo);

  const needMedia = () => {
    if (!media) throw new Error(`a ${item.type} message needs its media`);
    return Buffer.from(media.bytes);
  };

  let content: AnyMessageContent;
  switch (item.type) {
    case "text":
      content = { text: item.content ?? "", mentions };
      break;
    case "image":
      content = { image: needMedia(), caption, mimetype: media!.mimetype, mentions };
      break;
    case "video":
      content = { video: needMedia(), caption, mimetype: media!.mimetype, mentions };
      break;
    case "audio":
      // Voice notes must be Opus in Ogg for phones to show them as recordings.
      content = { audio: needMedia(), ptt: Boolean(p.ptt), mimetype: p.ptt ? "audio/ogg; codecs=opus" : media!.mimetype };
      break;
    case "document":
      content = {
        document: needMedia(),
        mimetype: p.mimetype ?? media!.mimetype,
        fileName: p.filename ?? "document",
        caption,
        mentions,
      };
      break;
    case "sticker":
      content = { sticker: needMedia(), mimetype: media!.mimetype };
      break;
    case "location":
      content = {
        location: { degreesLatitude: p.latitude!, degreesLongitude: p.longitude!, name: p.name, address: p.address, url: p.url },
      };
      break;
    case "contacts": {
      const cards = p.contacts ?? [];
      content = {
        contacts: {
          displayName: cards.length === 1 ? cards[0].name.formatted_name : `${cards.length} contacts`,
          contacts: cards.map((c) => ({ displayName: c.name.formatted_name, vcard: toVCard(c) })),
        },
      };
      break;
    }
    case "poll":
      content = {
        poll: { name: p.poll!.name, values: p.poll!.options, selectableCount: p.poll!.selectable_count ?? 1 },
      };
      break;
    case "reaction": {
      const target = refs.reactTo;
      if (!target) throw new Error("the message to react to is unknown");
      content = {
        react: { text: p.reaction!.emoji, key: refKey(target) },
      };
      break;
    }
    default:
      throw new Error(`unsupported message type ${(item as { type: string }).type}`);
  }
  return { content, options };
}

function refKey(ref: MessageRef): WAMessage["key"] {
  const key: WAMessage["key"] = { remoteJid: chatJid(ref.chat), fromMe: ref.fromMe, id: ref.providerMessageId };
  if (ref.participant) key.participant = ref.participant;
  return key;
}

function quotedMessage(ref: MessageRef): WAMessage {
  return {
    key: refKey(ref),
    message: { conversation: ref.text ?? "" },
  };
}
