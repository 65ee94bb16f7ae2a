import { OWED_TAGS, stanzaKey } from "./offline.queue";
import type { BinaryNode } from "./stanzas";

// What a logged-in client owes the server: an answer to every message, receipt, notification and
// call stanza it was sent. Baileys answers with `<ack class id>` (messages-recv.js sendMessageAck,
// stanza-ack.js buildAckStanza), except a message it decrypted, which it answers with a
// `<receipt>` (delivery, inactive, peer_msg, sender, retry…); whatsmeow acks each class the same
// way (receipt.go sendAck). A stanza left unanswered too long ends the stream with a codeless
// `<stream:error><ack id/></stream:error>` (Baileys issue #1910; Baileys reads it as 500).
// The same stanzas stay stored until answered, whatever socket they went out on (offline.ts).

/** Default time a client has to answer a stanza (real servers' figure is not published). */
export const UNACKED_TIMEOUT_MS = 60_000;

interface Owed {
  tag: string;
  id: string;
  /** One clock per stanza sent under this tag and id, oldest first (answers settle them in order). */
  timers: ReturnType<typeof setTimeout>[];
}

export class AckLedger {
  // Two stanzas may share a tag and id (a delivered and a read receipt for one message, or a
  // redelivery): each is owed its own answer, so each keeps its own clock.
  private readonly owed = new Map<string, Owed>();

  constructor(
    public timeoutMs: number,
    private readonly overdue: (tag: string, id: string) => void,
  ) {}

  /** A stanza went out: it is owed an answer from now. */
  sent(stanza: BinaryNode): void {
    this.owe(stanza.tag, stanza.attrs.id);
  }

  /** An encoded stanza went out (the offline queue): same, read from its bytes. */
  sentEncoded(encoded: Uint8Array): void {
    const { tag, id } = stanzaKey(encoded);
    this.owe(tag, id);
  }

  /** A stanza `tag`/`id` went out: owed an answer from now, besides any earlier one of the same key. */
  owe(tag: string, id: string | undefined): void {
    if (!OWED_TAGS.has(tag) || !id) return;
    const key = `${tag}:${id}`;
    let entry = this.owed.get(key);
    if (!entry) {
      entry = { tag, id, timers: [] };
      this.owed.set(key, entry);
    }
    const owed = entry;
    const timer = setTimeout(() => {
      const at = owed.timers.indexOf(timer);
      if (at < 0) return;
      owed.timers.splice(at, 1);
      if (owed.timers.length === 0) this.owed.delete(key);
      this.overdue(tag, id);
    }, this.timeoutMs);
    owed.timers.push(timer);
  }

  /** The client answered `tag`/`id` (the oldest such stanza); true when one was owed. */
  answered(tag: string | undefined, id: string | undefined): boolean {
    const key = `${tag}:${id}`;
    const entry = this.owed.get(key);
    if (!entry) return false;
    clearTimeout(entry.timers.shift());
    if (entry.timers.length === 0) this.owed.delete(key);
    return true;
  }

  /** Stanzas owed an answer. */
  get count(): number {
    let n = 0;
    for (const entry of this.owed.values()) n += entry.timers.length;
    return n;
  }

  /** The longest-owed key (tag and id), if any. */
  oldest(): { tag: string; id: string } | undefined {
    const first = this.owed.values().next();
    return first.done ? undefined : { tag: first.value.tag, id: first.value.id };
  }

  clear(): void {
    for (const entry of this.owed.values()) for (const timer of entry.timers) clearTimeout(timer);
    this.owed.clear();
  }
}
