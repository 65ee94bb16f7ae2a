import { SandboxError } from "./errors";
import { type KeyPair, generateKeyPair, random, sign, signalPub } from "./crypto";
import type { PhoneRow, WorldStore } from "./world.store";

export type ReceiptMode = "auto" | "manual";
export interface ReceiptPolicy {
  delivered: ReceiptMode;
  read: ReceiptMode;
  delivered_delay_ms: number;
  read_delay_ms: number;
}

export const DEFAULT_RECEIPT_POLICY: ReceiptPolicy = { delivered: "auto", read: "manual", delivered_delay_ms: 100, read_delay_ms: 1000 };

const ONE_TIME_PREKEYS = 30;
const PREKEY_LOW_WATER = 10;


/** Digits only, 7-15 of them (E.164 without the plus). */
export function normalizePhone(input: string): string {
  const digits = String(input ?? "").replace(/[\s()+\-.]/g, "");
  if (!/^\d{7,15}$/.test(digits)) throw new SandboxError(`invalid phone number "${input}": expected 7-15 digits in international format`, 422);
  return digits;
}

export function parseReceiptPolicy(input: unknown): ReceiptPolicy {
  const p = { ...DEFAULT_RECEIPT_POLICY, ...(typeof input === "object" && input ? input : {}) } as ReceiptPolicy;
  for (const k of ["delivered", "read"] as const) {
    if (p[k] !== "auto" && p[k] !== "manual") throw new SandboxError(`receipt policy "${k}" must be "auto" or "manual"`, 422);
  }
  for (const k of ["delivered_delay_ms", "read_delay_ms"] as const) {
    if (!Number.isFinite(p[k]) || p[k] < 0 || p[k] > 600_000) throw new SandboxError(`receipt policy "${k}" must be 0-600000`, 422);
  }
  return { delivered: p.delivered, read: p.read, delivered_delay_ms: Math.round(p.delivered_delay_ms), read_delay_ms: Math.round(p.read_delay_ms) };
}

/** A simulated WhatsApp account: a real Signal identity, signed prekey, one-time prekeys, a number and a LID. */
export function createPhoneRow(world: WorldStore, opts: { phone_number?: string; name?: string; receipt_policy?: unknown }): PhoneRow {
  const phone = opts.phone_number ? normalizePhone(opts.phone_number) : freeNumber(world);
  if (isSeededPeer(phone)) throw new SandboxError(`+1 555 200 xxxx is reserved for seeded history contacts`, 422);
  if (world.phone(phone)) throw new SandboxError(`phone ${phone} already exists`, 409);
  const name = (opts.name ?? `Sandbox ${phone.slice(-4)}`).trim();
  if (!name || name.length > 64) throw new SandboxError("name must be 1-64 characters", 422);
  const identity = generateKeyPair();
  const spk = generateKeyPair();
  const row: PhoneRow = {
    phone,
    lid: freeLid(world),
    name,
    reg_id: random(2).readUInt16BE(0) & 0x3fff || 1,
    identity_priv: identity.priv,
    identity_pub: identity.pub,
    spk_id: 1,
    spk_priv: spk.priv,
    spk_pub: spk.pub,
    spk_sig: sign(identity.priv, signalPub(spk.pub)),
    next_prekey_id: 1,
    next_device: 1,
    next_key_index: 1,
    receipt_policy: JSON.stringify(parseReceiptPolicy(opts.receipt_policy)),
    banned: 0,
    created_at: Date.now(),
  };
  world.insertPhone(row);
  replenishPrekeys(world, row);
  return world.phone(phone)!;
}

export function replenishPrekeys(world: WorldStore, phone: PhoneRow): void {
  if (world.unservedPhonePrekeys(phone.phone) >= PREKEY_LOW_WATER) return;
  let next = world.phone(phone.phone)!.next_prekey_id;
  for (let i = 0; i < ONE_TIME_PREKEYS; i++, next++) {
    const k = generateKeyPair();
    world.addPhonePrekey(phone.phone, next, k.priv, k.pub);
  }
  world.updatePhone(phone.phone, { next_prekey_id: next });
}

/**
 * A phone's stored policy. Checked when written; read as stored, so a row written when delays
 * could reach an hour still works.
 */
export const receiptPolicyOf = (p: PhoneRow): ReceiptPolicy => ({ ...DEFAULT_RECEIPT_POLICY, ...(JSON.parse(p.receipt_policy) as Partial<ReceiptPolicy>) });

export const accountKey = (p: PhoneRow): KeyPair => ({ pub: p.identity_pub, priv: p.identity_priv });

/** +1 555 200 xxxx: the contacts of seeded history (history.seed.ts); no simulated phone may have one. */
export const SEEDED_PEER_PREFIX = "1555200";
export const isSeededPeer = (phone: string): boolean => phone.length === 11 && phone.startsWith(SEEDED_PEER_PREFIX);

function freeNumber(world: WorldStore): string {
  // A reserved-looking range so sandbox numbers are never confused with real ones.
  for (;;) {
    const n = `1555${String(random(4).readUInt32BE(0) % 10_000_000).padStart(7, "0")}`;
    if (!isSeededPeer(n) && !world.phone(n)) return n;
  }
}

function freeLid(world: WorldStore): string {
  for (;;) {
    // 15 digits, like real LIDs.
    const n = String(100_000_000_000_000 + random(6).readUIntBE(0, 6));
    if (!world.phoneByLid(n)) return n;
  }
}
