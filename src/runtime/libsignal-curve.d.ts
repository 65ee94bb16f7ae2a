declare module "libsignal/src/curve.js" {
  /** Returns whether the signature is valid; throws on malformed input. */
  export function verifySignature(pubKey: Uint8Array, msg: Uint8Array, sig: Uint8Array, isInit?: boolean): boolean;
  export function calculateSignature(privKey: Uint8Array, msg: Uint8Array): Uint8Array;
}
