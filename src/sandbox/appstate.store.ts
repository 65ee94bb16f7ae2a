import type { Buffer } from "node:buffer";
import type { Sql } from "../platform/sql";

// The app-state server's storage (tables: world.schema.ts step 4). Patches are kept exactly as a
// device pushed them: the server never holds the keys, so it never opens their mutations.

/** The collections a client syncs (Baileys ALL_WA_PATCH_NAMES, whatsmeow appstate.AllPatchNames). */
export const APP_STATE_COLLECTIONS = ["critical_block", "critical_unblock_low", "regular_high", "regular_low", "regular"] as const;
export type AppStateCollection = (typeof APP_STATE_COLLECTIONS)[number];

export const isCollection = (name: string | undefined): name is AppStateCollection =>
  (APP_STATE_COLLECTIONS as readonly string[]).includes(name ?? "");

export interface StoredPatch {
  version: number;
  patch: Buffer;
  device: number;
}

export interface AppStateKeyRow {
  key_id: Buffer;
  /** An encoded AppStateSyncKeyData (key, fingerprint, timestamp): what the phone shares. */
  key_data: Buffer;
}

export class AppStateStore {
  constructor(private readonly sql: Sql) {}

  /** The collection's current version for the account (0: nothing pushed yet). */
  version(phone: string, collection: string): number {
    return Number(this.sql.one<{ v: number | null }>(`SELECT MAX(version) AS v FROM app_state_patches WHERE phone = ? AND collection = ?`, phone, collection)?.v ?? 0);
  }

  /** Patches after `version`, oldest first, at most `limit`. */
  patchesAfter(phone: string, collection: string, version: number, limit: number): StoredPatch[] {
    return this.sql.all<StoredPatch>(
      `SELECT version, patch, device FROM app_state_patches WHERE phone = ? AND collection = ? AND version > ? ORDER BY version LIMIT ?`,
      phone, collection, version, limit,
    );
  }

  addPatch(phone: string, collection: string, version: number, patch: Uint8Array, device: number): void {
    this.sql.run(
      `INSERT INTO app_state_patches (phone, collection, version, patch, device, created_at) VALUES (?,?,?,?,?,?)`,
      phone, collection, version, patch, device, Date.now(),
    );
  }

  /** The phone's app-state sync keys, oldest first. */
  keys(phone: string): AppStateKeyRow[] {
    return this.sql.all<AppStateKeyRow>(`SELECT key_id, key_data FROM app_state_keys WHERE phone = ? ORDER BY created_at, rowid`, phone);
  }

  addKey(phone: string, keyId: Uint8Array, keyData: Uint8Array): void {
    this.sql.run(`INSERT INTO app_state_keys (phone, key_id, key_data, created_at) VALUES (?,?,?,?)`, phone, keyId, keyData, Date.now());
  }
}
