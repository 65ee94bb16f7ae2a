// Stands in for the package `curve25519-js` (wrangler.toml [alias]), which libsignal's curve.js
// uses for every X25519 agreement and XEdDSA signature in workerd (its node:crypto branch is not
// taken there). Pure JS costs ~0.8 ms an agreement and ~7 ms a signature or verification; the
// WebAssembly of whatsapp-rust-bridge (already loaded for Baileys) does each in ~0.2 ms,
// synchronously as libsignal needs. Same API and results (test/unit/curve25519-wasm.test.ts),
// except that signatures use a random nonce, as XEdDSA specifies: valid, not byte-identical.
// What the bridge cannot do (caller-supplied randomness, signed-message framing) goes to the
// original, imported by path because the alias catches the package name and its subpaths.
// Plain JavaScript (types in curve25519.d.ts): under vitest, libsignal's require() of it is served
// from disk untransformed, and a .ts file would be read as CommonJS.
import { calculateAgreement, calculateSignature, verifySignature } from "whatsapp-rust-bridge";
import * as original from "../../node_modules/curve25519-js/lib/index.js";

/** Names this module in tests: the original has no such export. */
export const implementation = "whatsapp-rust-bridge";

// The X25519 base point (u = 9): agreement with it gives the public key.
const BASE_POINT = new Uint8Array(32);
BASE_POINT[0] = 9;

// The original's argument checks and messages, so callers see the same errors.
function checkArrayTypes(...args) {
  for (const arg of args) {
    const t = Object.prototype.toString.call(arg);
    if (t !== "[object Uint8Array]") throw new TypeError(`unexpected type ${t}, use Uint8Array`);
  }
}

function checkLength(value, length, what) {
  if (value.length !== length) throw new Error(`wrong ${what} length`);
}

/** X25519(secretKey, publicKey); the private key is clamped as the original does. */
export function sharedKey(secretKey, publicKey) {
  checkArrayTypes(publicKey, secretKey);
  checkLength(publicKey, 32, "public key");
  checkLength(secretKey, 32, "secret key");
  return calculateAgreement(publicKey, secretKey);
}

/** Key pair from a 32-byte seed: the clamped seed and its X25519 public key. */
export function generateKeyPair(seed) {
  checkArrayTypes(seed);
  checkLength(seed, 32, "seed");
  const pub = calculateAgreement(BASE_POINT, seed);
  const priv = new Uint8Array(seed);
  priv[0] &= 248;
  priv[31] &= 127;
  priv[31] |= 64;
  pub[31] &= 127;
  return { public: pub, private: priv };
}

/** 64-byte XEdDSA signature. With opt_random the caller fixes the nonce: the original does that. */
export function sign(secretKey, msg, opt_random) {
  if (opt_random !== undefined) return original.sign(secretKey, msg, opt_random);
  checkArrayTypes(secretKey, msg);
  checkLength(secretKey, 32, "secret key");
  return calculateSignature(secretKey, msg);
}

export function verify(publicKey, msg, signature) {
  checkArrayTypes(msg, signature, publicKey);
  checkLength(signature, 64, "signature");
  checkLength(publicKey, 32, "public key");
  return verifySignature(publicKey, msg, signature);
}

// Signed-message framing: unused by libsignal and Baileys, kept exact by the original.
export const signMessage = original.signMessage;
export const openMessage = original.openMessage;

// workerd's require() of an ES module returns its default export (esbuild's, the namespace), so
// the default is the whole API, shaped like the original's exports (which carry `default: {}`).
export default { implementation, sharedKey, generateKeyPair, sign, verify, signMessage, openMessage, default: {} };
