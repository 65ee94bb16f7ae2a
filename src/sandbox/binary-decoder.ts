import { Buffer } from "node:buffer";
import { DOUBLE_BYTE_TOKENS, SINGLE_BYTE_TOKENS } from "baileys/lib/WABinary/constants.js";
import type { BinaryNode } from "./stanzas";

// The server's reader of WhatsApp's binary XML ("WABinary"), written from the format itself and
// kept apart from Baileys' own decoder, so a bug shared by Baileys' encoder and decoder cannot hide
// in the sandbox. Only the token tables (protocol data, dictionary version 3) come from Baileys;
// test/unit/wabinary-decoder.test.ts checks them against whatsmeow's binary/token/token.go.
// A node is a list: [tag, key1, value1, …, content?]; its size's parity says whether content
// follows. Anything the format does not allow is a MalformedStanza, never a partial node.

/** The byte before each value (whatsmeow binary/token/token.go names the same numbers). */
export const WIRE = {
  LIST_EMPTY: 0,
  DICTIONARY_0: 236,
  DICTIONARY_3: 239,
  INTEROP_JID: 245,
  FB_JID: 246,
  AD_JID: 247,
  LIST_8: 248,
  LIST_16: 249,
  JID_PAIR: 250,
  HEX_8: 251,
  BINARY_8: 252,
  BINARY_20: 253,
  BINARY_32: 254,
  NIBBLE_8: 255,
} as const;

/** Flags byte before a node: bit value 2 means the rest is zlib-deflated (whatsmeow binary/unpack.go). */
export const FLAG_DEFLATED = 2;

export const DECODER_LIMITS = {
  /** Nested lists; real stanzas are a handful deep. */
  depth: 64,
  /** A frame is at most 16 MiB (3-byte length); so is what it inflates to. */
  inflatedBytes: 16 * 1024 * 1024,
};

/** A frame or stanza the format does not allow; `offset` is where the reader stopped. */
export class MalformedStanza extends Error {
  override readonly name = "MalformedStanza";
  constructor(readonly reason: string, readonly offset = 0) {
    super(`${reason} (at byte ${offset})`);
  }
}

// What one value on the wire is, before the place it sits in says what it may be.
type Value =
  | { kind: "null" }
  | { kind: "text"; text: string; jid: boolean }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "list"; nodes: BinaryNode[] };

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const NIBBLES = "0123456789-.";
const HEX = "0123456789ABCDEF";
const PADDING = 15;

/** jid server by AD_JID domain byte (Baileys WAJIDDomains; whatsmeow types.NewADJID). */
const DOMAIN_SERVERS: Record<number, string> = { 0: "s.whatsapp.net", 1: "lid", 128: "hosted", 129: "hosted.lid" };

class Reader {
  private pos = 0;
  private depth = 0;

  constructor(private readonly data: Uint8Array) {}

  fail(reason: string): never {
    throw new MalformedStanza(reason, this.pos);
  }

  get remaining(): number {
    return this.data.length - this.pos;
  }

  byte(): number {
    if (this.pos >= this.data.length) this.fail("truncated: a byte is missing");
    return this.data[this.pos++];
  }

  peek(): number {
    if (this.pos >= this.data.length) this.fail("truncated: a byte is missing");
    return this.data[this.pos];
  }

  uint(n: number): number {
    if (this.remaining < n) this.fail(`truncated: a ${n}-byte integer is missing`);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + this.data[this.pos++];
    return v;
  }

  take(n: number): Uint8Array {
    if (this.remaining < n) this.fail(`truncated: ${n} bytes announced, ${this.remaining} left`);
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  end(): void {
    if (this.remaining > 0) this.fail(`${this.remaining} trailing bytes after the stanza`);
  }

  node(): BinaryNode {
    if (++this.depth > DECODER_LIMITS.depth) this.fail(`nesting deeper than ${DECODER_LIMITS.depth}`);
    const header = this.byte();
    if (header !== WIRE.LIST_8 && header !== WIRE.LIST_16) this.fail(`a node must start with a list header, not ${header}`);
    // Each item (tag, key, value, content) takes at least a byte.
    const size = this.listSize(header, 1);
    if (size === 0) this.fail("a node with no tag");
    const tag = this.string("tag", false);
    if (!tag) this.fail("an empty tag");
    // Collected without a prototype, then spread: a key like `__proto__` stays an attribute.
    const attrs: Record<string, string> = Object.create(null);
    for (let i = 0; i < (size - 1) >> 1; i++) {
      const key = this.string("attribute key", false);
      if (!key) this.fail("an empty attribute key");
      const name = key.slice(0, 40); // for messages only: a key may be long
      if (Object.hasOwn(attrs, key)) this.fail(`attribute ${name} twice`);
      attrs[key] = this.string(`value of ${name}`, true);
    }
    const out: BinaryNode = { tag, attrs: { ...attrs } };
    // An even size: the last item is the content.
    if (size % 2 === 0) out.content = this.content();
    this.depth--;
    return out;
  }

  /** A list's size, refused at once when its items cannot fit in what is left of the frame. */
  private listSize(header: number, minItemBytes: number): number {
    const size = header === WIRE.LIST_8 ? this.byte() : this.uint(2);
    if (size * minItemBytes > this.remaining) this.fail(`a list of ${size} items is longer than the frame`);
    return size;
  }

  private content(): BinaryNode["content"] {
    const v = this.value();
    switch (v.kind) {
      case "null":
        return [];
      case "text":
        return v.text;
      case "bytes":
        return Buffer.from(v.bytes);
      case "list":
        return v.nodes;
    }
  }

  /** A value that must be a string: a tag, a key, a value, a part of a jid. */
  private string(what: string, jidAllowed: boolean): string {
    // Refused before reading: a list here would be a whole subtree parsed only to be thrown away.
    const head = this.peek();
    if (head === WIRE.LIST_8 || head === WIRE.LIST_16) this.fail(`${what} is not a string (list)`);
    const v = this.value();
    if (v.kind === "text") {
      if (v.jid && !jidAllowed) this.fail(`${what} is a jid`);
      return v.text;
    }
    if (v.kind === "bytes") return this.text(v.bytes, what);
    return this.fail(`${what} is not a string (${v.kind})`);
  }

  private text(bytes: Uint8Array, what: string): string {
    try {
      return utf8.decode(bytes);
    } catch {
      return this.fail(`${what} is not UTF-8`);
    }
  }

  /** A jid's user or server: a plain string, never another jid. */
  private part(what: string, nullable: boolean): string | null {
    // Checked before reading: a jid or list here would recurse with no bound (jid in jid in jid…).
    const head = this.peek();
    if (head >= WIRE.INTEROP_JID && head <= WIRE.JID_PAIR) {
      this.fail(`the jid's ${what} is not a plain string (${head === WIRE.LIST_8 || head === WIRE.LIST_16 ? "list" : "jid"})`);
    }
    const v = this.value();
    if (v.kind === "null" && nullable) return null;
    if (v.kind === "text" && !v.jid) return v.text;
    if (v.kind === "bytes") return this.text(v.bytes, what);
    return this.fail(`the jid's ${what} is not a plain string (${v.kind === "text" ? "jid" : v.kind})`);
  }

  private value(): Value {
    const tag = this.byte();
    switch (tag) {
      case WIRE.LIST_EMPTY:
        return { kind: "null" };
      case WIRE.LIST_8:
      case WIRE.LIST_16: {
        // A child node takes at least three bytes: list header, size, tag.
        const size = this.listSize(tag, 3);
        const nodes: BinaryNode[] = [];
        for (let i = 0; i < size; i++) nodes.push(this.node());
        return { kind: "list", nodes };
      }
      case WIRE.BINARY_8:
        return { kind: "bytes", bytes: this.take(this.byte()) };
      case WIRE.BINARY_20: {
        const len = this.uint(3);
        if (len >= 1 << 20) this.fail("a 20-bit length with its top bits set");
        return { kind: "bytes", bytes: this.take(len) };
      }
      case WIRE.BINARY_32:
        return { kind: "bytes", bytes: this.take(this.uint(4)) };
      case WIRE.NIBBLE_8:
        return this.packed(NIBBLES);
      case WIRE.HEX_8:
        return this.packed(HEX);
      case WIRE.JID_PAIR: {
        const user = this.part("user", true);
        const server = this.part("server", false)!;
        if (!server) this.fail("a jid with an empty server");
        return jid(`${user ?? ""}@${server}`);
      }
      case WIRE.AD_JID: {
        const domain = this.byte();
        const device = this.byte();
        const user = this.part("user", false)!;
        const server = DOMAIN_SERVERS[domain];
        // Another domain byte is a legacy agent on a phone-number jid: `user_agent` (Baileys jidEncode).
        return jid(`${server ? user : `${user}_${domain}`}${device ? `:${device}` : ""}@${server ?? "s.whatsapp.net"}`);
      }
      case WIRE.FB_JID: {
        const user = this.part("user", false)!;
        const device = this.uint(2);
        const server = this.part("server", false);
        if (server !== "msgr") this.fail(`an FB jid on server ${server?.slice(0, 40)}`);
        return jid(`${user}${device ? `:${device}` : ""}@msgr`);
      }
      case WIRE.INTEROP_JID: {
        const user = this.part("user", false)!;
        const device = this.uint(2);
        const integrator = this.uint(2);
        const server = this.part("server", false);
        if (server !== "interop") this.fail(`an interop jid on server ${server?.slice(0, 40)}`);
        return jid(`${integrator}-${user}${device ? `:${device}` : ""}@interop`);
      }
      default:
        if (tag >= WIRE.DICTIONARY_0 && tag <= WIRE.DICTIONARY_3) {
          const token = DOUBLE_BYTE_TOKENS[tag - WIRE.DICTIONARY_0]?.[this.byte()];
          if (token === undefined) this.fail(`no token ${this.data[this.pos - 1]} in dictionary ${tag - WIRE.DICTIONARY_0}`);
          return { kind: "text", text: token, jid: false };
        }
        if (tag < SINGLE_BYTE_TOKENS.length) return { kind: "text", text: SINGLE_BYTE_TOKENS[tag], jid: false };
        this.pos--;
        return this.fail(`unknown tag ${tag}`);
    }
  }

  /** NIBBLE_8 / HEX_8: a byte (high bit: odd length), then two characters a byte, high nibble first. */
  private packed(alphabet: string): Value {
    const head = this.byte();
    const count = head & 0x7f;
    const odd = head >> 7 === 1;
    if (odd && count === 0) this.fail("a packed string of odd length with no bytes");
    const bytes = this.take(count);
    let out = "";
    for (let i = 0; i < count; i++) {
      const hi = bytes[i] >> 4;
      const lo = bytes[i] & 0x0f;
      const last = i === count - 1;
      out += this.packedChar(alphabet, hi);
      if (last && odd) {
        if (lo !== PADDING) this.fail("a packed string of odd length without its padding nibble");
      } else {
        out += this.packedChar(alphabet, lo);
      }
    }
    return { kind: "text", text: out, jid: false };
  }

  private packedChar(alphabet: string, v: number): string {
    const c = alphabet[v];
    if (c === undefined) this.fail(`nibble ${v} is not in the ${alphabet === HEX ? "hex" : "nibble"} alphabet`);
    return c;
  }
}

const jid = (text: string): Value => ({ kind: "text", text, jid: true });

/** One node from uncompressed bytes (no flags byte); the whole input must be that node. */
export function decodeNode(bytes: Uint8Array): BinaryNode {
  const reader = new Reader(bytes);
  const out = reader.node();
  reader.end();
  return out;
}

/** A decrypted client frame: the flags byte, then a node (inflated first when flagged). */
export async function decodeFrame(payload: Uint8Array): Promise<BinaryNode> {
  if (payload.length === 0) throw new MalformedStanza("an empty frame");
  const flags = payload[0];
  // Clients send 0 or 2 (whatsmeow, Baileys); other bits are not defined.
  if (flags & ~FLAG_DEFLATED) throw new MalformedStanza(`unknown flags ${flags}`);
  const body = payload.subarray(1);
  return decodeNode(flags & FLAG_DEFLATED ? await inflate(body) : body);
}

/** zlib (RFC 1950) inflate, bounded: a small frame may not unpack into a huge one. */
async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate")).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > DECODER_LIMITS.inflatedBytes) throw new MalformedStanza(`inflates past ${DECODER_LIMITS.inflatedBytes} bytes`);
      chunks.push(value);
    }
  } catch (err) {
    void reader.cancel().catch(() => {});
    if (err instanceof MalformedStanza) throw err;
    throw new MalformedStanza(`bad zlib data: ${String((err as Error)?.message ?? err)}`);
  }
  return Buffer.concat(chunks);
}
