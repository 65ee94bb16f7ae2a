import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from "node:crypto";
import * as curve from "libsignal/src/curve";

/** A Curve25519 key pair; `pub` without the 0x05 type prefix, as WhatsApp sends keys on the wire. */
export interface KeyPair {
  pub: Buffer;
  priv: Buffer;
}

export const toBuffer = (u: Uint8Array | ArrayBuffer | string): Buffer =>
  typeof u === "string" ? Buffer.from(u, "binary") : u instanceof ArrayBuffer ? Buffer.from(u) : Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export const random = (n: number): Buffer => randomBytes(n);

export function generateKeyPair(): KeyPair {
  const { pubKey, privKey } = curve.generateKeyPair();
  return { pub: toBuffer(pubKey).subarray(1), priv: toBuffer(privKey) };
}

/** 33-byte Signal form of a public key (0x05 ‖ key). */
export const signalPub = (pub: Uint8Array): Buffer =>
  pub.length === 33 ? toBuffer(pub) : Buffer.concat([Buffer.from([5]), toBuffer(pub)]);

export const sharedKey = (priv: Uint8Array, pub: Uint8Array): Buffer =>
  toBuffer(curve.calculateAgreement(signalPub(pub), toBuffer(priv)));

/** XEdDSA signature, as WhatsApp's certificates, ADV identities and signed prekeys use. */
export const sign = (priv: Uint8Array, msg: Uint8Array): Buffer => toBuffer(curve.calculateSignature(toBuffer(priv), toBuffer(msg)));

/** A correct verifier: libsignal returns false on a bad signature and throws on malformed input. */
export function verify(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  try {
    return curve.verifySignature(signalPub(pub), toBuffer(msg), toBuffer(sig)) === true;
  } catch {
    return false;
  }
}

export const sha256 = (data: Uint8Array): Buffer => createHash("sha256").update(data).digest();
export const hmacSha256 = (data: Uint8Array, key: Uint8Array): Buffer => createHmac("sha256", key).update(data).digest();

export function hkdf(ikm: Uint8Array, length: number, salt: Uint8Array = Buffer.alloc(0), info = ""): Buffer {
  return Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from(info), length));
}

export function aesGcmEncrypt(plain: Uint8Array, key: Uint8Array, iv: Uint8Array, aad: Uint8Array = Buffer.alloc(0)): Buffer {
  const c = createCipheriv("aes-256-gcm", key, iv);
  c.setAAD(aad);
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

export function aesGcmDecrypt(data: Uint8Array, key: Uint8Array, iv: Uint8Array, aad: Uint8Array = Buffer.alloc(0)): Buffer {
  const d = createDecipheriv("aes-256-gcm", key, iv);
  d.setAAD(aad);
  d.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]);
}

export function aesCtr(data: Uint8Array, key: Uint8Array, iv: Uint8Array): Buffer {
  const c = createCipheriv("aes-256-ctr", key, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

/** The pairing-code key: PBKDF2-SHA256, 2^17 iterations (what Baileys' derivePairingCodeKey does). */
export async function pairingCodeKey(code: string, salt: Uint8Array): Promise<Buffer> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(code), { name: "PBKDF2" }, false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", salt: new Uint8Array(salt), iterations: 2 << 16, hash: "SHA-256" }, material, 256);
  return Buffer.from(bits);
}

export const bigEndian = (n: number, bytes: number): Buffer => {
  const b = Buffer.alloc(bytes);
  for (let i = bytes - 1; i >= 0; i--) {
    b[i] = n & 0xff;
    n >>>= 8;
  }
  return b;
};

export const readBigEndian = (b: Uint8Array): number => b.reduce((acc, x) => acc * 256 + x, 0);

/** WhatsApp pads every Signal plaintext with 1-16 bytes whose value is the pad length. */
export const padMax16 = (msg: Uint8Array): Buffer => {
  const n = (randomBytes(1)[0] & 0x0f) + 1;
  return Buffer.concat([msg, Buffer.alloc(n, n)]);
};
export const unpadMax16 = (msg: Uint8Array): Buffer => {
  const n = msg[msg.length - 1];
  if (!n || n > msg.length) throw new Error("bad message padding");
  return toBuffer(msg).subarray(0, msg.length - n);
};
