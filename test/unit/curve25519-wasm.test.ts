import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import fc from "fast-check";
import * as curveModule from "libsignal/src/curve.js";
import { describe, expect, it } from "vitest";
import * as shim from "../../src/runtime/curve25519.js";
// The pure-JS package, by path (the alias catches its name).
import * as originalModule from "../../node_modules/curve25519-js/lib/index.js";

type Shim = typeof shim;
const original = originalModule as unknown as Shim;
const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
const bytes = (u: Uint8Array) => Buffer.from(u).toString("hex");
const signalPub = (pub: Uint8Array) => Buffer.concat([Buffer.from([5]), pub]);
// libsignal's curve.js, typed beyond src/runtime/libsignal-curve.d.ts.
const curve = curveModule as typeof curveModule & {
  generateKeyPair(): { pubKey: Buffer; privKey: Buffer };
  calculateAgreement(pubKey: Buffer, privKey: Buffer): Buffer;
};

describe("curve25519-js on whatsapp-rust-bridge", () => {
  it("derives the same key pairs as the original from any seed", () => {
    fc.assert(
      fc.property(key, (seed) => {
        const mine = shim.generateKeyPair(seed);
        const theirs = original.generateKeyPair(seed);
        expect(bytes(mine.public)).toBe(bytes(theirs.public));
        expect(bytes(mine.private)).toBe(bytes(theirs.private));
      }),
      { seed: 25519, numRuns: 150 },
    );
  });

  it("computes the same shared secrets, from clamped and unclamped private keys", () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        const peer = original.generateKeyPair(b).public;
        expect(bytes(shim.sharedKey(a, peer))).toBe(bytes(original.sharedKey(a, peer)));
        const clamped = original.generateKeyPair(a).private;
        expect(bytes(shim.sharedKey(clamped, peer))).toBe(bytes(original.sharedKey(clamped, peer)));
      }),
      { seed: 7748, numRuns: 100 },
    );
  });

  it("agrees with the original on degenerate and non-canonical public keys", () => {
    const priv = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
    const odd = [
      "00".repeat(32), // zero
      `01${"00".repeat(31)}`, // order 1
      `ed${"ff".repeat(30)}7f`, // p itself
      `ee${"ff".repeat(30)}7f`, // p + 1
      "ff".repeat(32), // top bit set, above p
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
    ];
    for (const pub of odd) expect(bytes(shim.sharedKey(priv, hex(pub)))).toBe(bytes(original.sharedKey(priv, hex(pub))));
  });

  it("makes signatures the original verifies, and verifies the original's", () => {
    fc.assert(
      fc.property(key, fc.uint8Array({ maxLength: 300 }), fc.nat(511), (seed, msg, bit) => {
        const { public: pub } = original.generateKeyPair(seed);
        const mine = shim.sign(seed, msg);
        const theirs = original.sign(seed, msg);
        for (const sig of [mine, theirs]) {
          expect(original.verify(pub, msg, sig)).toBe(true);
          expect(shim.verify(pub, msg, sig)).toBe(true);
          const tampered = Uint8Array.from(sig);
          tampered[bit >> 3] ^= 1 << (bit & 7);
          expect(shim.verify(pub, msg, tampered)).toBe(false);
          expect(original.verify(pub, msg, tampered)).toBe(false);
          const otherMsg = Uint8Array.from([...msg, 1]);
          expect(shim.verify(pub, otherMsg, sig)).toBe(false);
        }
      }),
      { seed: 2016, numRuns: 25 },
    );
  });

  it("rejects what the original rejects, with the same errors", () => {
    const k = new Uint8Array(32);
    const cases: Array<[string, (m: Shim) => unknown]> = [
      ["short public key", (m) => m.sharedKey(k, new Uint8Array(31))],
      ["long secret key", (m) => m.sharedKey(new Uint8Array(33), k)],
      ["array, not bytes", (m) => m.sharedKey(k, [...k] as unknown as Uint8Array)],
      ["short seed", (m) => m.generateKeyPair(new Uint8Array(16))],
      ["short signing key", (m) => m.sign(new Uint8Array(31), k)],
      ["short signature", (m) => m.verify(k, k, new Uint8Array(63))],
      ["long verifying key", (m) => m.verify(new Uint8Array(33), k, new Uint8Array(64))],
    ];
    for (const [, call] of cases) {
      expect(() => call(original)).toThrow();
      let expected: unknown;
      try {
        call(original);
      } catch (err) {
        expected = err;
      }
      expect(() => call(shim)).toThrow(expected as Error);
    }
  });

  it("hands back its own arrays, not views of the WebAssembly memory", () => {
    const { public: pub, private: priv } = shim.generateKeyPair(new Uint8Array(32).fill(3));
    const secret = shim.sharedKey(priv, pub);
    const sig = shim.sign(priv, secret);
    expect([pub.buffer.byteLength, secret.buffer.byteLength, sig.buffer.byteLength]).toEqual([32, 32, 64]);
  });

  it("is what libsignal gets for `curve25519-js` (the wrangler.toml alias)", () => {
    // What workerd's require() (libsignal's) returns for the name, resolved with the alias.
    const required = createRequire(import.meta.url)("curve25519-js") as Shim;
    expect(required.implementation).toBe("whatsapp-rust-bridge");
    expect(typeof required.sharedKey).toBe("function");
    expect((original as { implementation?: string }).implementation).toBeUndefined();
    // libsignal's own curve.js: the original signs deterministically, the bridge with a random
    // nonce, so two signatures of one message differ only through the bridge.
    const { privKey, pubKey } = curve.generateKeyPair();
    const msg = Buffer.from("libsignal through the alias");
    const first = Buffer.from(curve.calculateSignature(privKey, msg));
    const second = Buffer.from(curve.calculateSignature(privKey, msg));
    expect(bytes(first)).not.toBe(bytes(second));
    expect(bytes(original.sign(privKey, msg))).toBe(bytes(original.sign(privKey, msg)));
    expect(curve.verifySignature(pubKey, msg, first)).toBe(true);
    expect(original.verify(pubKey.subarray(1), msg, second)).toBe(true);
    // And its agreements match the original's.
    const peer = original.generateKeyPair(new Uint8Array(32).fill(9));
    const agreed = curve.calculateAgreement(signalPub(peer.public), privKey);
    expect(bytes(agreed)).toBe(bytes(original.sharedKey(privKey, peer.public)));
  });
});
