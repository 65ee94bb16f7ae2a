import { Buffer } from "node:buffer";
import { proto } from "baileys/WAProto/index.js";
import { type KeyPair, aesGcmDecrypt, aesGcmEncrypt, generateKeyPair, hkdf, sha256, sharedKey, toBuffer } from "./crypto";
import { NOISE_MODE } from "./frames";

const iv = (counter: number): Buffer => {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(counter, 8);
  return b;
};

/**
 * Responder side of Noise_XX_25519_AESGCM_SHA256 as WhatsApp runs it: one nonce counter shared by
 * both directions during the handshake (reset on every key mix), then two transport keys with
 * their own counters (the first HKDF half is the client's sending key).
 */
export class NoiseServer {
  private hash: Buffer;
  private salt: Buffer;
  private key: Buffer;
  private counter = 0;
  private ephemeral: KeyPair = generateKeyPair();
  private clientEphemeral: Buffer | undefined;
  private recvKey: Buffer | undefined;
  private sendKey: Buffer | undefined;
  private recvCounter = 0;
  private sendCounter = 0;

  constructor(private readonly staticKey: KeyPair, private readonly certChain: Uint8Array, prologue: Uint8Array) {
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode.length === 32 ? mode : sha256(mode);
    this.salt = this.hash;
    this.key = this.hash;
    this.mixHash(prologue);
  }

  get ready(): boolean {
    return !!this.sendKey;
  }

  private mixHash(data: Uint8Array): void {
    this.hash = sha256(Buffer.concat([this.hash, data]));
  }

  private mixKey(ikm: Uint8Array): void {
    const out = hkdf(ikm, 64, this.salt);
    this.salt = out.subarray(0, 32);
    this.key = out.subarray(32);
    this.counter = 0;
  }

  private encryptHs(plain: Uint8Array): Buffer {
    const c = aesGcmEncrypt(plain, this.key, iv(this.counter++), this.hash);
    this.mixHash(c);
    return c;
  }

  private decryptHs(cipher: Uint8Array): Buffer {
    const p = aesGcmDecrypt(cipher, this.key, iv(this.counter++), this.hash);
    this.mixHash(cipher);
    return p;
  }

  /** Client frame 1 (clientHello) → server frame (serverHello). */
  respondToHello(frame: Uint8Array): Buffer {
    const { clientHello } = proto.HandshakeMessage.decode(frame);
    if (!clientHello?.ephemeral || clientHello.ephemeral.length !== 32) throw new Error("expected clientHello with an ephemeral key");
    this.clientEphemeral = toBuffer(clientHello.ephemeral);
    this.mixHash(this.clientEphemeral);
    this.mixHash(this.ephemeral.pub);
    this.mixKey(sharedKey(this.ephemeral.priv, this.clientEphemeral));
    const encStatic = this.encryptHs(this.staticKey.pub);
    this.mixKey(sharedKey(this.staticKey.priv, this.clientEphemeral));
    const encPayload = this.encryptHs(this.certChain);
    return toBuffer(
      proto.HandshakeMessage.encode({ serverHello: { ephemeral: this.ephemeral.pub, static: encStatic, payload: encPayload } }).finish(),
    );
  }

  /** Client frame 2 (clientFinish) → the client's static key and its ClientPayload bytes; switches to transport. */
  finish(frame: Uint8Array): { clientStatic: Buffer; payload: Buffer } {
    const { clientFinish } = proto.HandshakeMessage.decode(frame);
    if (!clientFinish?.static || !clientFinish.payload) throw new Error("expected clientFinish");
    const clientStatic = this.decryptHs(clientFinish.static);
    this.mixKey(sharedKey(this.ephemeral.priv, clientStatic));
    const payload = this.decryptHs(clientFinish.payload);
    const keys = hkdf(Buffer.alloc(0), 64, this.salt);
    this.recvKey = keys.subarray(0, 32);
    this.sendKey = keys.subarray(32);
    return { clientStatic, payload };
  }

  encrypt(plain: Uint8Array): Buffer {
    if (!this.sendKey) throw new Error("noise transport not ready");
    return aesGcmEncrypt(plain, this.sendKey, iv(this.sendCounter++));
  }

  decrypt(cipher: Uint8Array): Buffer {
    if (!this.recvKey) throw new Error("noise transport not ready");
    return aesGcmDecrypt(cipher, this.recvKey, iv(this.recvCounter++));
  }
}
