import { Buffer } from "node:buffer";
import type { BinaryNode } from "baileys";
import { encodeBinaryNode } from "baileys/lib/WABinary/index.js";
import { DOUBLE_BYTE_TOKENS, SINGLE_BYTE_TOKENS } from "baileys/lib/WABinary/constants.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DECODER_LIMITS, MalformedStanza, WIRE, decodeFrame, decodeNode } from "../../src/sandbox/binary-decoder";

// The sandbox's own WABinary decoder (src/sandbox/binary-decoder.ts), checked against Baileys'
// encoder on random nodes, against whatsmeow's token tables, and on inputs the format forbids.

const bytes = (...b: number[]) => Uint8Array.from(b);
const encode = (n: BinaryNode) => new Uint8Array(encodeBinaryNode(n));

async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function malformed(fn: () => unknown): MalformedStanza {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MalformedStanza);
    return err as MalformedStanza;
  }
  throw new Error("decoded what it should have refused");
}

describe("token tables and wire tags (protocol data, dictionary version 3)", () => {
  it("equal whatsmeow binary/token/token.go entry for entry", async () => {
    // SHA-256 of JSON.stringify(SingleByteTokens) and of JSON.stringify(DoubleByteTokens), the arrays
    // parsed from whatsmeow's token.go (DictVersion 3): every entry of every table, in order.
    const sha = async (x: unknown) =>
      Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(x)))).toString("hex");
    expect(await sha(SINGLE_BYTE_TOKENS)).toBe("5fd87b0938866fa14324bee863c414eedd3b61c34aa2ff024c5d663f21546690");
    expect(await sha(DOUBLE_BYTE_TOKENS)).toBe("0c785ca43e8e316d9458bd214034f8818cc5b1127efbfd98e511f9d180212570");
    // A few entries by index, so a mismatch says where to look.
    expect(SINGLE_BYTE_TOKENS).toHaveLength(236);
    const single: [number, string][] = [
      [1, "xmlstreamstart"], [2, "xmlstreamend"], [3, "s.whatsapp.net"], [7, "receipt"], [19, "message"],
      [25, "iq"], [27, "ack"], [29, "enc"], [107, "participants"], [118, "lid"], [235, "screen_height"],
    ];
    for (const [i, token] of single) expect(SINGLE_BYTE_TOKENS[i], `single ${i}`).toBe(token);
    expect(DOUBLE_BYTE_TOKENS.map((d) => d.length)).toEqual([256, 256, 256, 256]);
    const double: [number, number, string][] = [
      [0, 0, "read-self"], [0, 14, "conflict"], [0, 17, "replaced"], [1, 0, "reject"], [1, 51, "w:g2"],
      [2, 0, "64"], [2, 14, "mediaretry"], [3, 0, "1724"], [3, 255, "1961"],
    ];
    for (const [d, i, token] of double) expect(DOUBLE_BYTE_TOKENS[d][i], `dictionary ${d} #${i}`).toBe(token);
    // whatsmeow's type tokens (ListEmpty … Nibble8).
    expect(WIRE).toEqual({
      LIST_EMPTY: 0, DICTIONARY_0: 236, DICTIONARY_3: 239, INTEROP_JID: 245, FB_JID: 246, AD_JID: 247, LIST_8: 248,
      LIST_16: 249, JID_PAIR: 250, HEX_8: 251, BINARY_8: 252, BINARY_20: 253, BINARY_32: 254, NIBBLE_8: 255,
    });
    expect(decodeNode(bytes(248, 1, 25))).toEqual({ tag: "iq", attrs: {} });
    expect(decodeNode(bytes(248, 3, 27, 4, 236, 14))).toEqual({ tag: "ack", attrs: { type: "conflict" } });
    expect(decodeNode(bytes(248, 2, 27, 237, 51))).toEqual({ tag: "ack", attrs: {}, content: "w:g2" });
  });
});

describe("jid forms", () => {
  it("read each jid encoding the way clients write them", () => {
    const attr = (...value: number[]) => decodeNode(bytes(248, 3, 25, 17, ...value)).attrs.to;
    expect(attr(250, 0, 28)).toBe("@g.us"); // JID_PAIR, no user
    expect(attr(250, 255, 0x82, 0x12, 0x3f, 3)).toBe("123@s.whatsapp.net");
    expect(attr(247, 0, 0, 255, 0x82, 0x12, 0x3f)).toBe("123@s.whatsapp.net"); // AD_JID device 0
    expect(attr(247, 1, 4, 255, 0x82, 0x12, 0x3f)).toBe("123:4@lid");
    expect(attr(247, 128, 2, 255, 0x82, 0x12, 0x3f)).toBe("123:2@hosted");
    expect(attr(247, 129, 2, 255, 0x82, 0x12, 0x3f)).toBe("123:2@hosted.lid");
    expect(attr(247, 5, 3, 255, 0x82, 0x12, 0x3f)).toBe("123_5:3@s.whatsapp.net"); // a legacy agent
    expect(attr(246, 252, 2, 49, 50, 0, 3, 252, 4, ...Buffer.from("msgr"))).toBe("12:3@msgr"); // FB_JID
    expect(attr(245, 252, 2, 49, 50, 0, 3, 0, 7, 252, 7, ...Buffer.from("interop"))).toBe("7-12:3@interop"); // INTEROP_JID
    // Baileys' encoder drops a zero device: the same jid comes back without it.
    expect(decodeNode(encode({ tag: "iq", attrs: { to: "5:0@s.whatsapp.net" } }).subarray(1)).attrs.to).toBe("5@s.whatsapp.net");
  });

  it("keeps an attribute named __proto__ as an attribute", () => {
    const n = decodeNode(bytes(248, 3, 25, 252, 9, ...Buffer.from("__proto__"), 252, 1, 120));
    expect(Object.getPrototypeOf(n.attrs)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(n.attrs, "__proto__")?.value).toBe("x");
  });
});

// Random nodes: what Baileys' encoder writes, this decoder must read back. Left out: strings with
// "@" (written as jids) and names of Object.prototype members, which rc14's encoder looks up in a
// plain-object token map and writes as byte 0 (e.g. "valueOf"), a node no decoder can read.
const inherited = new Set(Object.getOwnPropertyNames(Object.prototype));
const noAt = (s: string) => !s.includes("@") && !inherited.has(s);
const freeText = fc.string({ unit: "binary", maxLength: 40 }).filter(noAt);
const token = fc.oneof(fc.constantFrom(...SINGLE_BYTE_TOKENS.slice(3)), fc.constantFrom(...DOUBLE_BYTE_TOKENS.flat())).filter(noAt);
const nibbles = fc.stringMatching(/^[0-9.-]{1,127}$/);
const hex = fc.stringMatching(/^[0-9A-F]{1,127}$/);
const digits = fc.stringMatching(/^[1-9][0-9]{5,15}$/);
const device = fc.integer({ min: 1, max: 255 });
const jidArb = fc.oneof(
  digits.map((u) => `${u}@s.whatsapp.net`),
  fc.tuple(digits, device).map(([u, d]) => `${u}:${d}@s.whatsapp.net`),
  digits.map((u) => `${u}@lid`),
  fc.tuple(digits, device).map(([u, d]) => `${u}:${d}@lid`),
  fc.tuple(digits, device, fc.constantFrom("hosted", "hosted.lid")).map(([u, d, s]) => `${u}:${d}@${s}`),
  fc.tuple(digits, fc.integer({ min: 2, max: 127 }), device).map(([u, a, d]) => `${u}_${a}:${d}@s.whatsapp.net`),
  digits.map((u) => `${u}@g.us`),
  fc.tuple(digits, digits).map(([a, b]) => `${a}-${b}@g.us`),
  fc.constantFrom("@g.us", "@s.whatsapp.net", "status@broadcast", "120363000000000000@newsletter", "abc@c.us"),
);
const longText = fc.oneof(
  { weight: 9, arbitrary: fc.integer({ min: 256, max: 3000 }).map((n) => "x".repeat(n)) },
  // Rarely past 1 MiB: BINARY_32.
  { weight: 1, arbitrary: fc.integer({ min: 1 << 20, max: (1 << 20) + 40 }).map((n) => "y".repeat(n)) },
);
const text = fc.oneof({ weight: 4, arbitrary: freeText }, { weight: 3, arbitrary: token }, nibbles, hex, { weight: 3, arbitrary: jidArb }, longText);
const key = fc.oneof(token, freeText.filter((s) => s.length > 0 && s !== "__proto__"));
const tag = fc.oneof(token, freeText.filter((s) => s.length > 0));
const binary = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 2, arbitrary: fc.integer({ min: 256, max: 70_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)) },
  // Rarely past 1 MiB: BINARY_32.
  { weight: 1, arbitrary: fc.integer({ min: 1 << 20, max: (1 << 20) + 40 }).map((n) => new Uint8Array(n).fill(9)) },
);
const { tree } = fc.letrec<{ tree: BinaryNode; children: BinaryNode[] }>((tie) => ({
  tree: fc.record(
    {
      tag,
      attrs: fc.dictionary(key, text, { maxKeys: 6, noNullPrototype: true }),
      content: fc.oneof({ depthSize: "small", withCrossShrink: true }, fc.constant(undefined), text, binary, tie("children")),
    },
    { requiredKeys: ["tag", "attrs"] },
  ) as fc.Arbitrary<BinaryNode>,
  children: fc.oneof(
    { weight: 9, arbitrary: fc.array(tie("tree"), { maxLength: 5 }) },
    // Rarely more than 255 children: LIST_16.
    { weight: 1, arbitrary: fc.array(fc.record({ tag: token, attrs: fc.constant({}) }) as fc.Arbitrary<BinaryNode>, { minLength: 256, maxLength: 300 }) },
  ),
}));

/** Equal as the format normalises it: a string written as raw bytes comes back as bytes. */
function expectSame(got: BinaryNode, want: BinaryNode, path = "node"): void {
  expect(got.tag, path).toBe(want.tag);
  expect(got.attrs, `${path}.attrs`).toEqual(want.attrs);
  const c = want.content;
  if (c === undefined) expect(got.content, path).toBeUndefined();
  else if (typeof c === "string") {
    expect(typeof got.content === "string" ? got.content : Buffer.from(got.content as Uint8Array).toString("utf8"), path).toBe(c);
  } else if (c instanceof Uint8Array) {
    expect(Buffer.isBuffer(got.content), path).toBe(true);
    expect(Buffer.compare(got.content as Buffer, c), path).toBe(0);
  } else {
    const kids = got.content as BinaryNode[];
    expect(kids, path).toHaveLength(c.length);
    c.forEach((k, i) => expectSame(kids[i], k, `${path}[${i}]`));
  }
}

describe("decoding what Baileys' encoder writes", () => {
  it("gives back every random node (fixed seed)", () => {
    fc.assert(
      fc.property(tree, (n) => {
        expectSame(decodeNode(encode(n).subarray(1)), n);
      }),
      { seed: 15, numRuns: 300 },
    );
  });

  it("reads a frame with its flags byte, plain or zlib-deflated", async () => {
    const n: BinaryNode = { tag: "message", attrs: { id: "3EB0ABC", to: "123@s.whatsapp.net", type: "text" }, content: [{ tag: "enc", attrs: { v: "2", type: "msg" }, content: new Uint8Array(2000).fill(1) }] };
    const encoded = encode(n);
    expectSame(await decodeFrame(encoded), n);
    const deflated = await deflate(encoded.subarray(1));
    expectSame(await decodeFrame(Uint8Array.from([2, ...deflated])), n);
  });
});

describe("input the format does not allow", () => {
  const nested = (levels: number) => {
    const out: number[] = [];
    for (let i = 0; i < levels; i++) out.push(248, 2, 25, 248, 1);
    out.push(248, 1, 25);
    return Uint8Array.from(out);
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ["nothing at all", bytes(), /truncated/],
    ["a truncated node", bytes(248, 2, 25, 252), /truncated: a byte is missing/],
    ["a node list with fewer items than announced", bytes(248, 2, 25), /longer than the frame/],
    ["bytes announced but missing", bytes(248, 2, 25, 252, 5, 97), /truncated: 5 bytes announced/],
    ["an unknown tag", bytes(248, 1, 240), /unknown tag 240/],
    ["trailing bytes", bytes(248, 1, 25, 0), /1 trailing bytes/],
    ["a bad nibble", bytes(248, 2, 25, 255, 1, 0xc1), /nibble 12/],
    ["odd length without padding", bytes(248, 2, 25, 255, 0x81, 0x12), /padding/],
    ["odd length with no bytes", bytes(248, 2, 25, 251, 0x80), /odd length with no bytes/],
    ["padding inside a string", bytes(248, 2, 25, 255, 2, 0xf1, 0x23), /nibble 15/],
    ["a node that is not a list", bytes(25), /list header/],
    ["a node of size 0", bytes(248, 0), /no tag/],
    ["a child list longer than the frame", bytes(248, 2, 25, 248, 3, 248, 1, 25), /longer than the frame/],
    ["a LIST_16 longer than the frame", bytes(248, 2, 25, 249, 0xff, 0xff), /longer than the frame/],
    ["a node list longer than the frame", bytes(248, 9, 25, 4), /longer than the frame/],
    ["an attribute key that is a list", bytes(248, 3, 25, 248, 1, 248, 1, 25, 25), /attribute key is not a string \(list\)/],
    ["an attribute key that is null", bytes(248, 3, 25, 0, 25), /attribute key is not a string \(null\)/],
    ["an attribute key that is a jid", bytes(248, 3, 25, 250, 0, 3, 25), /attribute key is a jid/],
    ["an attribute value that is null", bytes(248, 3, 25, 4, 0), /value of type is not a string \(null\)/],
    ["an attribute value that is a list", bytes(248, 3, 25, 4, 248, 1, 248, 1, 25), /value of type is not a string \(list\)/],
    ["the same attribute twice", bytes(248, 5, 25, 4, 25, 4, 25), /attribute type twice/],
    ["an empty tag", bytes(248, 1, 252, 0), /empty tag/],
    ["a tag that is not UTF-8", bytes(248, 1, 252, 1, 0xff), /not UTF-8/],
    ["a 20-bit length with high bits", bytes(248, 2, 25, 253, 0x10, 0, 0), /top bits/],
    ["a jid pair with no server", bytes(248, 3, 25, 17, 250, 0, 0), /server is not a plain string/],
    ["a jid inside a jid", bytes(248, 3, 25, 17, 250, 250, 0, 3, 3), /user is not a plain string \(jid\)/],
    ["an FB jid off msgr", bytes(248, 3, 25, 17, 246, 252, 1, 49, 0, 1, 3), /FB jid on server s.whatsapp.net/],
    ["an interop jid off interop", bytes(248, 3, 25, 17, 245, 252, 1, 49, 0, 1, 0, 2, 3), /interop jid on server s.whatsapp.net/],
    ["nesting past the limit", nested(DECODER_LIMITS.depth + 1), /nesting deeper/],
    // 100k jids each the user of the next: refused at the first, before any recursion.
    ["100,000 nested jids", bytes(248, 1, ...new Array(100_000).fill(250), 3, 3), /tag is not a string|user is not a plain string \(jid\)/],
    ["a jid's user that is a list", bytes(248, 3, 25, 17, 250, 248, 1, 25, 3), /user is not a plain string \(list\)/],
    ["an attribute key that is a list", bytes(248, 3, 25, 248, 1, 25, 3), /attribute key is not a string \(list\)/],
  ];
  for (const [name, input, reason] of cases) {
    it(`refuses ${name}`, () => {
      expect(malformed(() => decodeNode(input)).message).toMatch(reason);
    });
  }

  it("accepts nesting up to the limit", () => {
    expect(decodeNode(nested(DECODER_LIMITS.depth - 1)).tag).toBe("iq");
  });

  it("refuses bad frames: empty, unknown flags, bad or oversized zlib", async () => {
    await expect(decodeFrame(bytes())).rejects.toThrow(/empty frame/);
    await expect(decodeFrame(bytes(4, 248, 1, 25))).rejects.toThrow(/unknown flags 4/);
    await expect(decodeFrame(bytes(2, 1, 2, 3, 4))).rejects.toBeInstanceOf(MalformedStanza);
    const bomb = await deflate(new Uint8Array(DECODER_LIMITS.inflatedBytes + 1024));
    await expect(decodeFrame(Uint8Array.from([2, ...bomb]))).rejects.toThrow(/inflates past/);
  });

  it("never crashes and never returns half a node: random bytes and damaged encodings", () => {
    const outcome = (input: Uint8Array) => {
      try {
        return decodeNode(input) ? "node" : "nothing";
      } catch (err) {
        if (err instanceof MalformedStanza) return "malformed";
        throw err;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (input) => ["node", "malformed"].includes(outcome(input))), { seed: 15, numRuns: 2000 });
    // Long inputs, mostly the jid and list headers (245–250) that recurse, after a node header.
    const recursive = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 245, max: 250 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) });
    const long = fc.array(recursive, { minLength: 1000, maxLength: 60_000 }).map((b) => Uint8Array.from([248, 3, 25, 17, ...b]));
    fc.assert(fc.property(long, (input) => ["node", "malformed"].includes(outcome(input))), { seed: 15, numRuns: 60 });
    const damaged = fc.tuple(tree, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()).map(([n, at, b, cut]) => {
      const enc = encode(n).subarray(1).slice();
      if (enc.length === 0) return enc;
      const i = at % enc.length;
      if (cut) return enc.subarray(0, i);
      enc[i] = b;
      return enc;
    });
    fc.assert(fc.property(damaged, (input) => ["node", "malformed"].includes(outcome(input))), { seed: 15, numRuns: 300 });
  });
});
