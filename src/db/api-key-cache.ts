import { BoundedCache } from "../domain/bounded-cache";
import type { accounts, apiKeys } from "./schema";

// API keys (with their account) as last read in this isolate, by the key's SHA-256. Only
// writes that re-check the key in their own transaction (the accept batch) may trust an entry;
// every other request reads D1 and refreshes it. Revoking in this isolate drops the entry.

export interface KeyWithAccount {
  key: typeof apiKeys.$inferSelect;
  account: typeof accounts.$inferSelect;
}

const MAX_KEYS = 1000;
const MAX_AGE_MS = 60_000;
const keys = new BoundedCache<KeyWithAccount>(MAX_KEYS, MAX_AGE_MS);

export const cachedKey = (hash: string): KeyWithAccount | undefined => keys.get(hash);

/** Keeps a usable key; a revoked one is never kept. */
export function rememberKey(found: KeyWithAccount): void {
  if (found.key.revokedAt) keys.delete(found.key.hash);
  else keys.set(found.key.hash, found);
}

export const forgetKey = (id: string): void => keys.deleteWhere((v) => v.key.id === id);

/** After an account's price, plan or balance was seen to change. */
export const forgetAccountKeys = (accountId: string): void => keys.deleteWhere((v) => v.account.id === accountId);
