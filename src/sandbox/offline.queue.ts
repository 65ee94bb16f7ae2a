import { Buffer } from "node:buffer";
import { encodeBinaryNode } from "baileys/lib/WABinary/index.js";
import { decodeNode } from "./binary-decoder";
import type { BinaryNode } from "./stanzas";

// How a stanza is kept for a device until it answers (offline.ts): encoded once, as it goes out
// when it waited, marked `offline` (Baileys messages-recv.js processNode hands `attrs.offline`
// stanzas to its offline queue and upserts their messages as `append`).

/** Stanza tags a client must answer (an `<ack>`, or a `<receipt>` for a message): acks.ts. */
export const OWED_TAGS: ReadonlySet<string> = new Set(["message", "receipt", "notification", "call"]);

/** True when the client owes the server an answer to this stanza, so it is kept until then. */
export const isOwed = (tag: string | null | undefined, id: string | null | undefined): boolean => Boolean(tag && id && OWED_TAGS.has(tag));

/** The bytes kept for a later (re)delivery: the same stanza, marked `offline`. */
export const offlineCopy = (stanza: BinaryNode): Uint8Array => encodeBinaryNode({ ...stanza, attrs: { ...stanza.attrs, offline: "1" } });

/**
 * What a client's `<ack>` echoes of the stanza it answers, as one string: `to` = the stanza's
 * `from`, its `participant` and `recipient`, and its `type` except for a message (Baileys
 * stanza-ack.js buildAckStanza; whatsmeow receipt.go sendAck leaves a message's type out). It tells
 * apart stanzas sharing an id: a delivered and a read receipt, each member's receipt of one group message.
 */
export function ackKey(tag: string, attrs: Record<string, string | undefined>): string {
  return [attrs.from, attrs.participant, attrs.recipient, tag === "message" ? undefined : attrs.type].map((v) => v ?? "").join("|");
}

/** The same key read from a client's `<ack>`. */
export const ackKeyOfAnswer = (ack: BinaryNode): string => ackKey(ack.attrs.class ?? "", { ...ack.attrs, from: ack.attrs.to });

/** Tag, id and ack key of a kept stanza, read back from its bytes (encodeBinaryNode: a flags byte, 0 = plain, then the node). */
export function stanzaKey(encoded: Uint8Array): { tag: string; id: string | undefined; ackKey: string | undefined } {
  if (encoded[0] !== 0) return { tag: "unknown", id: undefined, ackKey: undefined };
  const decoded = decodeNode(Buffer.from(encoded).subarray(1));
  return { tag: decoded.tag, id: decoded.attrs.id, ackKey: ackKey(decoded.tag, decoded.attrs) };
}
