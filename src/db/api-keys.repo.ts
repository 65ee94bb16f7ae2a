import { and, desc, eq, isNull } from "drizzle-orm";
import { generateApiKey, sha256Hex, visiblePrefix } from "../domain/api-keys";
import { now } from "../domain/time";
import { forgetKey } from "./api-key-cache";
import type { Db } from "./client";
import { accounts, apiKeys } from "./schema";

export type ApiKeyRow = typeof apiKeys.$inferSelect;

/** A new key row and its secret; the secret is returned to the caller once and never stored. */
export async function newApiKey(accountId: string, name: string): Promise<{ row: ApiKeyRow; secret: string }> {
  const secret = generateApiKey();
  const row: ApiKeyRow = {
    id: crypto.randomUUID(),
    accountId,
    name,
    prefix: visiblePrefix(secret),
    hash: await sha256Hex(secret),
    lastUsedAt: null,
    revokedAt: null,
    createdAt: now(),
  };
  return { row, secret };
}

export async function findKeyWithAccount(db: Db, hash: string) {
  return db
    .select({ key: apiKeys, account: accounts })
    .from(apiKeys)
    .innerJoin(accounts, eq(apiKeys.accountId, accounts.id))
    .where(eq(apiKeys.hash, hash))
    .get();
}

export async function listKeys(db: Db, accountId: string): Promise<ApiKeyRow[]> {
  return db.select().from(apiKeys).where(eq(apiKeys.accountId, accountId)).orderBy(desc(apiKeys.createdAt)).all();
}

export async function findKey(db: Db, accountId: string, id: string): Promise<ApiKeyRow | undefined> {
  return db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.accountId, accountId)))
    .get();
}

export async function revokeKey(db: Db, accountId: string, id: string): Promise<ApiKeyRow | undefined> {
  await db
    .update(apiKeys)
    .set({ revokedAt: now() })
    .where(and(eq(apiKeys.id, id), eq(apiKeys.accountId, accountId), isNull(apiKeys.revokedAt)));
  // After the write: a verifyKey racing it can no longer cache the key as usable. This isolate
  // stops trusting it at once; others are stopped by the accept path's re-check.
  forgetKey(id);
  return findKey(db, accountId, id);
}

/** A revoked key is left as it was: its last use stays the last accepted one. */
export async function touchKey(db: Db, id: string, at: string): Promise<void> {
  await db
    .update(apiKeys)
    .set({ lastUsedAt: at })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)));
}

export async function insertApiKey(db: Db, row: ApiKeyRow): Promise<void> {
  await db.insert(apiKeys).values(row);
}
