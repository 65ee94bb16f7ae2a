import { Buffer } from "node:buffer";
import * as constants from "baileys/lib/WABinary/constants.js";
import { decodeDecompressedBinaryNode } from "baileys/lib/WABinary/index.js";
import type { BinaryNode } from "./stanzas";

// What a logged-in client owes the server: an answer to every message, receipt, notification and
// call stanza it was sent. Baileys answers with `<ack class id>` (messages-recv.js sendMessageAck,
// stanza-ack.js buildAckStanza), except a message it decrypted, which it answers with a
// `<receipt>` (delivery, inactive, peer_msg, sender, retry…); whatsmeow acks each class the same
// way (receipt.go sendAck). A stanza left unanswered too long ends the stream with a codeless
// `<stream:error><ack id/></stream:error>` (Baileys issue #1910; Baileys reads it as 500).

/** Stanza tags a client must answer. */
const OWED = new Set(["message", "receipt", "notification", "call"]);

/** Default time a client has to answer a stanza (real servers' figure is not published). */
export const UNACKED_TIMEOUT_MS = 60_000;

export class AckLedger {
  private readonly owed = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    public timeoutMs: number,
    private readonly overdue: (tag: string, id: string) => void,
  ) {}

  /** A stanza went out: it is owed an answer from now. */
  sent(stanza: BinaryNode): void {
    const { id } = stanza.attrs;
    if (!OWED.has(stanza.tag) || !id) return;
    const key = `${stanza.tag}:${id}`;
    clearTimeout(this.owed.get(key));
    this.owed.set(key, setTimeout(() => {
      if (this.owed.delete(key)) this.overdue(stanza.tag, id);
    }, this.timeoutMs));
  }

  /** An encoded stanza went out (the offline queue): same, read from its bytes. */
  sentEncoded(encoded: Uint8Array): void {
    // encodeBinaryNode's output: a flags byte (0: not compressed), then the node.
    if (encoded[0] !== 0) return;
    this.sent(decodeDecompressedBinaryNode(Buffer.from(encoded).subarray(1), constants) as BinaryNode);
  }

  /** The client answered `tag`/`id`; true when it was owed. */
  answered(tag: string | undefined, id: string | undefined): boolean {
    const key = `${tag}:${id}`;
    const timer = this.owed.get(key);
    if (!timer) return false;
    clearTimeout(timer);
    return this.owed.delete(key);
  }

  get count(): number {
    return this.owed.size;
  }

  /** The longest-owed stanza (tag and id), if any. */
  oldest(): { tag: string; id: string } | undefined {
    const first = this.owed.keys().next();
    if (first.done) return undefined;
    const cut = first.value.indexOf(":");
    return { tag: first.value.slice(0, cut), id: first.value.slice(cut + 1) };
  }

  clear(): void {
    for (const timer of this.owed.values()) clearTimeout(timer);
    this.owed.clear();
  }
}
