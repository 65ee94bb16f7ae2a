// Idempotency-Key on creating POSTs: the first successful answer is stored (in the same D1
// transaction as what it created) and replayed for a repeat; the same key with another
// request is refused. Failed requests store nothing, so they can be retried as they are.
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { idempotencyKeys } from "../db/schema";
import { sha256Hex } from "../domain/api-keys";
import { ApiError } from "./errors";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface IdempotencyContext {
  key: string;
  method: string;
  path: string;
  requestHash: string;
}

/** The request's Idempotency-Key, or null; 400 when it is malformed. */
export function idempotencyKey(request: Request): string | null {
  const key = request.headers.get("Idempotency-Key");
  if (key === null) return null;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new ApiError(400, "invalid_idempotency_key", "Idempotency-Key must be 1-255 printable ASCII characters without spaces.", [
      { field: "Idempotency-Key", in: "header", message: "1-255 printable ASCII characters." },
    ]);
  }
  return key;
}

/** JSON with sorted keys, so equal bodies hash equally whatever their key order. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export async function idempotencyContext(request: Request, url: URL, body: unknown): Promise<IdempotencyContext | null> {
  const key = idempotencyKey(request);
  if (!key) return null;
  const method = request.method.toUpperCase();
  return { key, method, path: url.pathname, requestHash: await sha256Hex(`${method} ${url.pathname}\n${stableJson(body)}`) };
}

/** The stored answer for a repeat of this request, or null to process it; 422 for a reused key. */
export async function replayIdempotent(db: Db, accountId: string, ctx: IdempotencyContext): Promise<Response | null> {
  const where = and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, ctx.key));
  const row = await db.select().from(idempotencyKeys).where(where).get();
  if (!row) return null;
  if (Date.now() - Date.parse(row.createdAt) > IDEMPOTENCY_TTL_MS) {
    await db.delete(idempotencyKeys).where(and(where, eq(idempotencyKeys.createdAt, row.createdAt)));
    return null;
  }
  if (row.requestHash !== ctx.requestHash) {
    throw new ApiError(422, "idempotency_key_reused", "This Idempotency-Key was used with a different request; use a new key.", [
      { field: "Idempotency-Key", in: "header", message: `First used for ${row.method} ${row.path} with another body.` },
    ]);
  }
  // Re-serialised so numbers stored by SQLite (4990.0) read as the first answer did (4990).
  return Response.json(JSON.parse(row.response), { status: row.statusCode, headers: { "Idempotent-Replayed": "true" } });
}

export async function forgetIdempotencyKey(db: Db, accountId: string, key: string): Promise<void> {
  await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)));
}

/** Stores (or corrects) an answer outside the accepting transaction. */
export async function storeIdempotent(db: Db, accountId: string, ctx: IdempotencyContext, status: number, body: unknown, at: string): Promise<void> {
  await db
    .insert(idempotencyKeys)
    .values({ accountId, key: ctx.key, method: ctx.method, path: ctx.path, requestHash: ctx.requestHash, statusCode: status, response: JSON.stringify(body), createdAt: at })
    .onConflictDoUpdate({
      target: [idempotencyKeys.accountId, idempotencyKeys.key],
      set: { statusCode: status, response: JSON.stringify(body) },
      setWhere: eq(idempotencyKeys.requestHash, ctx.requestHash),
    });
}
