import { Buffer } from "node:buffer";
import { proto } from "baileys/WAProto/index.js";
import {
  type KeyPair, aesCtr, aesGcmDecrypt, hkdf, hmacSha256, pairingCodeKey, random, sharedKey, sign, toBuffer, verify,
} from "./crypto";

const ACCOUNT_SIG_PREFIX = Buffer.from([6, 0]);
const DEVICE_SIG_PREFIX = Buffer.from([6, 1]);

export interface QrData {
  ref: string;
  noisePub: Buffer;
  identityPub: Buffer;
  advSecret: Buffer;
  platformId: string;
}

/** `https://wa.me/settings/linked_devices#REF,NOISE,IDENTITY,ADV,PLATFORM` (older clients: no URL prefix). */
export function parseQr(qr: string): QrData {
  const body = qr.includes("#") ? qr.slice(qr.indexOf("#") + 1) : qr;
  const parts = body.split(",");
  if (parts.length < 4) throw new Error("not a WhatsApp linking QR");
  const [ref, noise, identity, adv, platformId = ""] = parts;
  const data = {
    ref,
    noisePub: Buffer.from(noise, "base64"),
    identityPub: Buffer.from(identity, "base64"),
    advSecret: Buffer.from(adv, "base64"),
    platformId,
  };
  if (data.noisePub.length !== 32 || data.identityPub.length !== 32 || data.advSecret.length !== 32) throw new Error("malformed linking QR");
  return data;
}

/** New QR refs, in the server's `2@…` style. */
export const newRef = (): string => `2@${random(30).toString("base64")}`;

export interface AdvIdentity {
  /** ADVSignedDeviceIdentityHMAC bytes for `<device-identity>` in pair-success. */
  hmacWrapped: Buffer;
  details: Buffer;
}

/** The phone's side of linking: sign the companion's identity with the account key, HMAC with the adv secret. */
export function buildDeviceIdentity(account: KeyPair, companionIdentityPub: Uint8Array, advSecret: Uint8Array, keyIndex: number, now = Math.floor(Date.now() / 1000)): AdvIdentity {
  const details = toBuffer(
    proto.ADVDeviceIdentity.encode({ rawId: random(4).readUInt32BE(0), timestamp: now, keyIndex }).finish(),
  );
  const accountSignature = sign(account.priv, Buffer.concat([ACCOUNT_SIG_PREFIX, details, companionIdentityPub]));
  const signed = toBuffer(
    proto.ADVSignedDeviceIdentity.encode({ details, accountSignatureKey: account.pub, accountSignature }).finish(),
  );
  const hmacWrapped = toBuffer(
    proto.ADVSignedDeviceIdentityHMAC.encode({ details: signed, hmac: hmacSha256(signed, advSecret) }).finish(),
  );
  return { hmacWrapped, details };
}

/** Checks the companion's `<pair-device-sign>`: a device signature over what the phone issued. */
export function verifyDeviceSign(signedIdentity: Uint8Array, issuedDetails: Uint8Array, companionIdentityPub: Uint8Array, accountPub: Uint8Array): boolean {
  const account = proto.ADVSignedDeviceIdentity.decode(signedIdentity);
  if (!account.details || !account.deviceSignature) return false;
  if (!toBuffer(account.details).equals(toBuffer(issuedDetails))) return false;
  const msg = Buffer.concat([DEVICE_SIG_PREFIX, account.details, companionIdentityPub, accountPub]);
  return verify(companionIdentityPub, msg, account.deviceSignature);
}

/** Pairing-code wrapping: salt 32 ‖ iv 16 ‖ AES-CTR(key) under PBKDF2(code, salt). */
export async function wrapWithCode(code: string, key: Uint8Array): Promise<Buffer> {
  const salt = random(32);
  const iv = random(16);
  return Buffer.concat([salt, iv, aesCtr(key, await pairingCodeKey(code, salt), iv)]);
}

export async function unwrapWithCode(code: string, wrapped: Uint8Array): Promise<Buffer> {
  const b = toBuffer(wrapped);
  if (b.length !== 80) throw new Error("wrapped key must be 80 bytes");
  return aesCtr(b.subarray(48), await pairingCodeKey(code, b.subarray(0, 32)), b.subarray(32, 48));
}

/**
 * The phone's side of `companion_finish`: decrypt the key bundle (fails if the code typed was wrong),
 * check it names both identities, derive the adv secret both sides now share.
 */
export function openKeyBundle(opts: {
  bundle: Uint8Array;
  phoneEphemeral: KeyPair;
  companionEphemeralPub: Uint8Array;
  phoneIdentity: KeyPair;
  companionIdentityPub: Uint8Array;
}): Buffer {
  const b = toBuffer(opts.bundle);
  const companionShared = sharedKey(opts.phoneEphemeral.priv, opts.companionEphemeralPub);
  const key = hkdf(companionShared, 32, b.subarray(0, 32), "link_code_pairing_key_bundle_encryption_key");
  const plain = aesGcmDecrypt(b.subarray(44), key, b.subarray(32, 44));
  if (plain.length !== 96) throw new Error("key bundle has the wrong size");
  if (!plain.subarray(0, 32).equals(toBuffer(opts.companionIdentityPub))) throw new Error("key bundle names another companion");
  if (!plain.subarray(32, 64).equals(opts.phoneIdentity.pub)) throw new Error("key bundle names another phone");
  const identityShared = sharedKey(opts.phoneIdentity.priv, opts.companionIdentityPub);
  return hkdf(Buffer.concat([companionShared, identityShared, plain.subarray(64)]), 32, undefined, "adv_secret");
}
