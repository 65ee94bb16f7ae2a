import { and, eq } from "drizzle-orm";
import type { Db } from "./client";
import { idempotencyKeys } from "./schema";

// Stored answers of Idempotency-Key requests. A row with status 0 is a reservation: a request
// still being processed, holding a random token in `response` so only its owner completes it.

export type IdempotencyRow = typeof idempotencyKeys.$inferSelect;
export const IN_PROGRESS = 0;

/** The request a key was first used for. */
export interface IdempotentRequest {
  key: string;
  method: string;
  path: string;
  requestHash: string;
}

const byKey = (accountId: string, key: string) => and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key));

/** The reservation of one request: matches its token and hash, so a newcomer's row is never touched. */
const reservation = (accountId: string, req: IdempotentRequest, token: string) =>
  and(
    byKey(accountId, req.key),
    eq(idempotencyKeys.statusCode, IN_PROGRESS),
    eq(idempotencyKeys.requestHash, req.requestHash),
    eq(idempotencyKeys.response, token),
  );

export async function findIdempotencyRow(db: Db, accountId: string, key: string): Promise<IdempotencyRow | undefined> {
  return db.select().from(idempotencyKeys).where(byKey(accountId, key)).get();
}

/** Deletes the row only if it is still the one read (same created_at): a newcomer's row stays. */
export async function deleteIdempotencyRow(db: Db, row: IdempotencyRow): Promise<void> {
  await db.delete(idempotencyKeys).where(and(byKey(row.accountId, row.key), eq(idempotencyKeys.createdAt, row.createdAt)));
}

export async function forgetIdempotencyKey(db: Db, accountId: string, key: string): Promise<void> {
  await db.delete(idempotencyKeys).where(byKey(accountId, key));
}

/** The insert of a stored answer, for a caller's own batch (the answer commits with what it created). */
export function insertIdempotentAnswer(db: Db, accountId: string, req: IdempotentRequest, status: number, response: string, at: string) {
  return db.insert(idempotencyKeys).values({ accountId, ...pick(req), statusCode: status, response, createdAt: at });
}

/** Stores (or corrects) an answer; a row of another request under the same key is left alone. */
export async function upsertIdempotentAnswer(db: Db, accountId: string, req: IdempotentRequest, status: number, response: string, at: string): Promise<void> {
  await insertIdempotentAnswer(db, accountId, req, status, response, at).onConflictDoUpdate({
    target: [idempotencyKeys.accountId, idempotencyKeys.key],
    set: { statusCode: status, response },
    setWhere: eq(idempotencyKeys.requestHash, req.requestHash),
  });
}

/** Reserves the key for this request; false when a row (a twin's, or a stored answer) holds it. */
export async function reserveIdempotencyKey(db: Db, accountId: string, req: IdempotentRequest, token: string, at: string): Promise<boolean> {
  const inserted = await insertIdempotentAnswer(db, accountId, req, IN_PROGRESS, token, at).onConflictDoNothing().run();
  return inserted.meta.changes > 0;
}

/** Drops this request's reservation; false when it was taken over meanwhile. */
export async function releaseReservation(db: Db, accountId: string, req: IdempotentRequest, token: string): Promise<boolean> {
  const released = await db.delete(idempotencyKeys).where(reservation(accountId, req, token)).run();
  return released.meta.changes > 0;
}

/** Turns this request's reservation into its stored answer; false when it was taken over meanwhile. */
export async function completeReservation(db: Db, accountId: string, req: IdempotentRequest, token: string, status: number, response: string): Promise<boolean> {
  const updated = await db.update(idempotencyKeys).set({ statusCode: status, response }).where(reservation(accountId, req, token)).run();
  return updated.meta.changes > 0;
}

function pick(req: IdempotentRequest): IdempotentRequest {
  return { key: req.key, method: req.method, path: req.path, requestHash: req.requestHash };
}
