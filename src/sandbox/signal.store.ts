import { Buffer } from "node:buffer";
import { ProtocolAddress, SessionBuilder, SessionCipher, SessionRecord, type SignalStorage } from "libsignal";
import { padMax16, signalPub, toBuffer, unpadMax16 } from "./crypto";
import type { PhoneRow, WorldStore } from "./world.store";

/** libsignal storage for one simulated phone (its device 0), serialised into the world's SQLite. */
export class PhoneSignalStore implements SignalStorage {
  constructor(private readonly world: WorldStore, private readonly phone: PhoneRow) {}

  async loadSession(id: string): Promise<SessionRecord | undefined> {
    const row = this.world.sql.one<{ record: string }>(`SELECT record FROM signal_sessions WHERE owner = ? AND address = ?`, this.phone.phone, id);
    return row ? SessionRecord.deserialize(JSON.parse(row.record)) : undefined;
  }

  async storeSession(id: string, session: SessionRecord): Promise<void> {
    this.world.sql.run(
      `INSERT OR REPLACE INTO signal_sessions (owner, address, record) VALUES (?,?,?)`,
      this.phone.phone, id, JSON.stringify(session.serialize()),
    );
  }

  // Trust on first use, and follow identity changes (a relinked companion has a new identity).
  isTrustedIdentity(identifier: string, identityKey: Uint8Array): boolean {
    this.world.sql.run(
      `INSERT OR REPLACE INTO signal_identities (owner, address, key) VALUES (?,?,?)`,
      this.phone.phone, identifier, identityKey,
    );
    return true;
  }

  async loadPreKey(id: number | string) {
    const k = this.world.phonePrekey(this.phone.phone, Number(id));
    return k ? { privKey: k.priv, pubKey: signalPub(k.pub) } : undefined;
  }

  removePreKey(id: number): void {
    this.world.removePhonePrekey(this.phone.phone, id);
  }

  loadSignedPreKey() {
    return { privKey: this.phone.spk_priv, pubKey: signalPub(this.phone.spk_pub) };
  }

  getOurRegistrationId(): number {
    return this.phone.reg_id;
  }

  getOurIdentity() {
    return { privKey: this.phone.identity_priv, pubKey: signalPub(this.phone.identity_pub) };
  }
}

/** Signal address of a remote device as this phone's store keys it. */
export const addressOf = (user: string, device: number) => new ProtocolAddress(user, device);

export interface PreKeyBundle {
  registrationId: number;
  identityKey: Uint8Array;
  signedPreKey: { keyId: number; publicKey: Uint8Array; signature: Uint8Array };
  preKey?: { keyId: number; publicKey: Uint8Array };
}

export async function hasOpenSession(store: PhoneSignalStore, addr: ProtocolAddress): Promise<boolean> {
  const rec = await store.loadSession(addr.toString());
  return !!rec && rec.haveOpenSession();
}

export async function startSession(store: PhoneSignalStore, addr: ProtocolAddress, bundle: PreKeyBundle): Promise<void> {
  await new SessionBuilder(store, addr).initOutgoing({
    registrationId: bundle.registrationId,
    identityKey: signalPub(bundle.identityKey),
    signedPreKey: { ...bundle.signedPreKey, publicKey: signalPub(bundle.signedPreKey.publicKey), signature: toBuffer(bundle.signedPreKey.signature) },
    preKey: bundle.preKey && { keyId: bundle.preKey.keyId, publicKey: signalPub(bundle.preKey.publicKey) },
  } as never);
}

/** Encrypts a serialised proto.Message (padding added here) → `pkmsg` or `msg`. */
export async function encryptFor(store: PhoneSignalStore, addr: ProtocolAddress, plain: Uint8Array): Promise<{ type: "pkmsg" | "msg"; ciphertext: Buffer }> {
  const { type, body } = await new SessionCipher(store, addr).encrypt(padMax16(plain));
  return { type: type === 3 ? "pkmsg" : "msg", ciphertext: Buffer.from(body, "binary") };
}

/** Decrypts an `enc` payload and strips the padding. */
export async function decryptFrom(store: PhoneSignalStore, addr: ProtocolAddress, type: string, ciphertext: Uint8Array): Promise<Buffer> {
  const cipher = new SessionCipher(store, addr);
  const data = toBuffer(ciphertext);
  const plain = type === "pkmsg" ? await cipher.decryptPreKeyWhisperMessage(data) : await cipher.decryptWhisperMessage(data);
  return unpadMax16(plain);
}
