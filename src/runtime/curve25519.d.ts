// Types of curve25519.js (the `curve25519-js` substitute; see that file for why it is JavaScript).
export declare const implementation: "whatsapp-rust-bridge";
export declare function sharedKey(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
export declare function generateKeyPair(seed: Uint8Array): { public: Uint8Array; private: Uint8Array };
export declare function sign(secretKey: Uint8Array, msg: Uint8Array, opt_random?: Uint8Array): Uint8Array;
export declare function verify(publicKey: Uint8Array, msg: Uint8Array, signature: Uint8Array): boolean;
export declare function signMessage(secretKey: Uint8Array, msg: Uint8Array, opt_random?: Uint8Array): Uint8Array;
export declare function openMessage(publicKey: Uint8Array, signedMsg: Uint8Array): Uint8Array | null;
declare const api: {
  implementation: typeof implementation;
  sharedKey: typeof sharedKey;
  generateKeyPair: typeof generateKeyPair;
  sign: typeof sign;
  verify: typeof verify;
  signMessage: typeof signMessage;
  openMessage: typeof openMessage;
  default: {};
};
export default api;
