import { Curve, WA_CERT_DETAILS } from "baileys";
import { verifySignature } from "libsignal/src/curve.js";
import { currentNoiseRoot } from "./socket-target";

// Two changes to Baileys' module state, applied once per isolate before any socket connects:
// 1. Curve.verify in rc14 returns true for any well-formed signature (libsignal returns false
//    instead of throwing). Replace it with a real check; this only strengthens Baileys.
// 2. WA_CERT_DETAILS.PUBLIC_KEY becomes per socket: the root of the socket whose code is running
//    (set by the ws shim for sandbox sockets), WhatsApp's genuine root otherwise. It becomes
//    read-only, so nothing can swap the root for every socket in the isolate.

/** Curve25519 (XEdDSA) verification with a boolean answer; malformed input is invalid. */
export function verifyCurveSignature(pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = Buffer.from(pubKey);
    const signalKey = key.length === 32 ? Buffer.concat([Buffer.from([5]), key]) : key;
    return verifySignature(signalKey, Buffer.from(message), Buffer.from(signature)) === true;
  } catch {
    return false;
  }
}

let genuineRoot: Buffer | undefined;

/** WhatsApp's own Noise root key, as shipped in Baileys. */
export function genuineNoiseRoot(): Buffer {
  hardenBaileys();
  return Buffer.from(genuineRoot!);
}

export function isBaileysHardened(): boolean {
  return genuineRoot !== undefined;
}

export function hardenBaileys(): void {
  if (genuineRoot) return;
  const root = Buffer.from(WA_CERT_DETAILS.PUBLIC_KEY);
  if (root.length !== 32) throw new Error("unexpected WA_CERT_DETAILS.PUBLIC_KEY");
  Object.defineProperty(Curve, "verify", {
    value: verifyCurveSignature,
    writable: false,
    configurable: false,
    enumerable: true,
  });
  Object.defineProperty(WA_CERT_DETAILS, "PUBLIC_KEY", {
    // Fresh copies: a caller mutating the returned Buffer must not change the trusted root.
    get: () => Buffer.from(currentNoiseRoot() ?? root),
    configurable: false,
    enumerable: true,
  });
  genuineRoot = root;
}
