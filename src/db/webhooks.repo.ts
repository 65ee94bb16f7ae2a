import { and, desc, eq, inArray, lt, or, sql } from "drizzle-orm";
import type { WebhookFilters } from "../domain/webhook-events";
import { now, toTimestamp } from "../domain/time";
import type { Cursor } from "../domain/cursor";
import type { Db } from "./client";
import { insertIdempotentAnswer, type IdempotentRequest } from "./idempotency.repo";
import { webhookAttempts, webhookDeliveries, webhooks } from "./schema";

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type AttemptRow = typeof webhookAttempts.$inferSelect;
export type DeliveryStatus = DeliveryRow["status"];

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

export function newWebhookRow(input: {
  accountId: string;
  url: string;
  events: string[];
  whatsappSessionId: string | null;
  headers: Record<string, string> | null;
  filters: WebhookFilters | null;
  enabled: boolean;
}): WebhookRow {
  const at = now();
  return {
    id: crypto.randomUUID(),
    accountId: input.accountId,
    whatsappSessionId: input.whatsappSessionId,
    url: input.url,
    events: input.events,
    secret: newWebhookSecret(),
    headers: input.headers,
    filters: input.filters as Record<string, unknown> | null,
    enabled: input.enabled,
    createdAt: at,
    updatedAt: at,
  };
}

export async function insertWebhook(db: Db, row: WebhookRow): Promise<void> {
  await db.insert(webhooks).values(row);
}

/** The webhook and its stored Idempotency-Key answer in one transaction; a concurrent twin loses on the key. */
export async function insertWebhookWithAnswer(db: Db, row: WebhookRow, request: IdempotentRequest, response: string): Promise<void> {
  await db.batch([insertIdempotentAnswer(db, row.accountId, request, 201, response, row.createdAt), db.insert(webhooks).values(row)]);
}

export async function listWebhooks(db: Db, accountId: string): Promise<WebhookRow[]> {
  return db.select().from(webhooks).where(eq(webhooks.accountId, accountId)).orderBy(desc(webhooks.createdAt), desc(webhooks.id)).all();
}

export async function listEnabledWebhooks(db: Db, accountId: string): Promise<WebhookRow[]> {
  return db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.accountId, accountId), eq(webhooks.enabled, true)))
    .all();
}

export async function findWebhook(db: Db, accountId: string, id: string): Promise<WebhookRow | undefined> {
  return db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.id, id), eq(webhooks.accountId, accountId)))
    .get();
}

export async function findWebhookById(db: Db, id: string): Promise<WebhookRow | undefined> {
  return db.select().from(webhooks).where(eq(webhooks.id, id)).get();
}

export type WebhookPatch = Partial<Pick<WebhookRow, "url" | "events" | "whatsappSessionId" | "headers" | "filters" | "enabled">>;

export async function updateWebhook(db: Db, accountId: string, id: string, patch: WebhookPatch): Promise<WebhookRow | undefined> {
  return db
    .update(webhooks)
    .set({ ...patch, updatedAt: now() })
    .where(and(eq(webhooks.id, id), eq(webhooks.accountId, accountId)))
    .returning()
    .get();
}

/**
 * The account's webhooks (all, or the one with this id, or those with this URL), their deliveries
 * and their attempts; callback deliveries (no webhook) stay. Queued messages for the deleted
 * deliveries are then dropped by the consumer. Returns how many webhooks went.
 */
export async function deleteWebhooks(db: Db, accountId: string, which: { id?: string; url?: string } = {}): Promise<number> {
  const chosen = and(
    eq(webhooks.accountId, accountId),
    which.id !== undefined ? eq(webhooks.id, which.id) : undefined,
    which.url !== undefined ? eq(webhooks.url, which.url) : undefined,
  );
  const owned = and(eq(webhookDeliveries.accountId, accountId), inArray(webhookDeliveries.webhookId, db.select({ id: webhooks.id }).from(webhooks).where(chosen)));
  const [, , gone] = await db.batch([
    db.delete(webhookAttempts).where(inArray(webhookAttempts.deliveryId, db.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(owned))),
    db.delete(webhookDeliveries).where(owned),
    db.delete(webhooks).where(chosen),
  ]);
  return gone.meta.changes;
}

// ---- Deliveries ----

export function newDeliveryRow(input: {
  accountId: string;
  webhookId: string | null;
  url: string;
  eventId: string;
  eventType: string;
  payload: string;
  at?: string;
}): DeliveryRow {
  const at = input.at ?? now();
  return {
    id: crypto.randomUUID(),
    accountId: input.accountId,
    webhookId: input.webhookId,
    url: input.url,
    eventId: input.eventId,
    eventType: input.eventType,
    payload: input.payload,
    status: "pending",
    attempts: 0,
    generation: 0,
    lastStatusCode: null,
    lastError: null,
    nextAttemptAt: at,
    deliveredAt: null,
    createdAt: at,
    updatedAt: at,
  };
}

/** One statement per row: D1 allows at most 100 bound parameters per statement. */
export async function insertDeliveries(db: Db, rows: DeliveryRow[]): Promise<void> {
  if (rows.length === 0) return;
  const [first, ...rest] = rows.map((row) => db.insert(webhookDeliveries).values(row));
  await db.batch([first, ...rest]);
}

/** Writes the rows whose id is not taken yet (a repeat of a derived id adds nothing); returns the ids written. */
export async function insertNewDeliveries(db: Db, rows: DeliveryRow[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const [first, ...rest] = rows.map((row) => db.insert(webhookDeliveries).values(row).onConflictDoNothing().returning({ id: webhookDeliveries.id }));
  const results = await db.batch([first, ...rest]);
  return results.flatMap((r) => r.map((x) => x.id));
}

export async function findDelivery(db: Db, id: string): Promise<DeliveryRow | undefined> {
  return db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)).get();
}

export async function findWebhookDelivery(db: Db, accountId: string, webhookId: string, id: string): Promise<DeliveryRow | undefined> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.accountId, accountId)))
    .get();
}


/** Newest first; `cursor` is the last row of the previous page. */
export async function listDeliveries(
  db: Db,
  accountId: string,
  webhookId: string,
  options: { limit: number; cursor?: Cursor | null; status?: DeliveryStatus },
): Promise<DeliveryRow[]> {
  const conditions = [eq(webhookDeliveries.accountId, accountId), eq(webhookDeliveries.webhookId, webhookId)];
  if (options.status) conditions.push(eq(webhookDeliveries.status, options.status));
  if (options.cursor) {
    conditions.push(
      or(
        lt(webhookDeliveries.createdAt, options.cursor.createdAt),
        and(eq(webhookDeliveries.createdAt, options.cursor.createdAt), lt(webhookDeliveries.id, options.cursor.id)),
      )!,
    );
  }
  return db
    .select()
    .from(webhookDeliveries)
    .where(and(...conditions))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(options.limit)
    .all();
}

export async function listAttempts(db: Db, deliveryIds: string[]): Promise<AttemptRow[]> {
  const rows: AttemptRow[] = [];
  for (let i = 0; i < deliveryIds.length; i += 50) {
    const chunk = deliveryIds.slice(i, i + 50);
    rows.push(...(await db.select().from(webhookAttempts).where(inArray(webhookAttempts.deliveryId, chunk)).all()));
  }
  return rows.sort((a, b) => a.attempt - b.attempt);
}

export interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/**
 * Records one attempt and moves the delivery on, in one batch. The attempt number is the
 * delivery's running count (across replays), computed in SQL so concurrent attempts of one
 * delivery (a replay racing a retry) never collide.
 */
export async function recordAttempt(
  db: Db,
  deliveryId: string,
  outcome: AttemptOutcome,
  next: { status: DeliveryStatus; nextAttemptAt: string | null; url?: string },
  /** The queue message's generation: a superseded attempt is logged but moves nothing on. */
  generation?: number,
): Promise<{ current: boolean }> {
  const at = now();
  // Only the current generation moves the status, a success included: a replay always POSTs
  // once (the user asked for it), so an older message's late success must not leave the
  // replay's message finding `delivered` and acking unsent. And nothing moves a delivered
  // row back (a redelivered message of the same generation that failed after a success).
  const owner = and(
    eq(webhookDeliveries.id, deliveryId),
    sql`${webhookDeliveries.status} <> 'delivered'`,
    generation === undefined ? undefined : eq(webhookDeliveries.generation, generation),
  );
  const [, , moved] = await db.batch([
    // Nothing when the delivery is gone (its webhook was deleted during the attempt).
    db.insert(webhookAttempts).select(
      db
        .select({
          id: sql<string>`${crypto.randomUUID()}`.as("id"),
          deliveryId: webhookDeliveries.id,
          attempt: sql<number>`${webhookDeliveries.attempts} + 1`.as("attempt"),
          statusCode: sql<number | null>`${outcome.statusCode}`.as("status_code"),
          error: sql<string | null>`${outcome.error}`.as("error"),
          durationMs: sql<number>`${outcome.durationMs}`.as("duration_ms"),
          createdAt: sql<string>`${at}`.as("created_at"),
        })
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.id, deliveryId)),
    ),
    // The attempt happened, whoever owns the delivery now.
    db
      .update(webhookDeliveries)
      .set({
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        lastStatusCode: outcome.statusCode,
        lastError: outcome.error,
        ...(next.url ? { url: next.url } : {}),
        updatedAt: at,
      })
      .where(eq(webhookDeliveries.id, deliveryId)),
    // Where it goes next is for the current generation to say.
    db
      .update(webhookDeliveries)
      .set({ status: next.status, nextAttemptAt: next.nextAttemptAt, ...(next.status === "delivered" ? { deliveredAt: at } : {}) })
      .where(owner),
  ]);
  return { current: moved.meta.changes > 0 };
}

/**
 * Final failure without a new attempt (dead-lettered, webhook disabled or gone). With
 * `generation`, only a delivery still at that generation: a dead-lettered message must not
 * kill the replay that superseded it.
 */
export async function markDeliveriesDead(
  db: Db,
  ids: string[],
  reason: string,
  options: { overwriteError?: boolean; generation?: number } = {},
): Promise<void> {
  const at = now();
  const current = options.generation === undefined ? sql`1 = 1` : eq(webhookDeliveries.generation, options.generation);
  for (let i = 0; i < ids.length; i += 50) {
    const chunk = ids.slice(i, i + 50);
    await db
      .update(webhookDeliveries)
      .set({
        status: "dead",
        nextAttemptAt: null,
        updatedAt: at,
        // Keep the last HTTP error when there is one; it says more than "dead-lettered".
        lastError: options.overwriteError ? reason : sql`coalesce(${webhookDeliveries.lastError}, ${reason})`,
      })
      // A delivery that made it (e.g. a replay that succeeded meanwhile) stays delivered.
      .where(and(inArray(webhookDeliveries.id, chunk), sql`${webhookDeliveries.status} <> 'delivered'`, current));
  }
}

/**
 * Back to pending for a replay; the event id and payload stay as they were. A new generation:
 * queue messages sent before (pending retries) are superseded by the replay's message.
 */
export async function resetForReplay(db: Db, id: string): Promise<DeliveryRow | undefined> {
  const at = now();
  return db
    .update(webhookDeliveries)
    .set({ status: "pending", nextAttemptAt: at, updatedAt: at, generation: sql`${webhookDeliveries.generation} + 1` })
    .where(eq(webhookDeliveries.id, id))
    .returning()
    .get();
}

// ---- Recovery (src/recovery): D1 is the truth, queue messages are only wake-ups ----

/** Statuses of a delivery that is still owed to its receiver. */
const OWED: DeliveryStatus[] = ["pending", "failed"];

/** A claimed delivery: its new generation, and the attempts it already made (its retry schedule goes on from there). */
export interface ClaimedDelivery {
  id: string;
  generation: number;
  attempts: number;
}

// After a claim, the delivery is not claimed again for this long (doubling with each claim of
// the same row, capped): a lagging queue, whose message arrives after all, is not answered by
// a new message every sweep. In minutes, by the generation the claim starts.
const RECLAIM_BASE_MINUTES = 1;
const RECLAIM_MAX_MINUTES = 60;

export function reclaimDelayMs(generation: number): number {
  return Math.min(RECLAIM_BASE_MINUTES * 2 ** Math.min(generation, 16), RECLAIM_MAX_MINUTES) * 60_000;
}

/**
 * Takes deliveries still owed whose attempt was due before `dueBefore` (their queue message
 * was lost, or is stuck): each gets a new generation, so the message about to be sent for it
 * is the only one allowed to attempt it, and a next attempt time spaced by reclaimDelayMs.
 * The UPDATE repeats the due and generation checks: a row attempted, replayed or claimed by
 * another sweep since the read is left alone.
 */
export async function claimOverdueDeliveries(db: Db, dueBefore: string, limit: number, at = Date.now()): Promise<ClaimedDelivery[]> {
  const rows = await db
    .select({ id: webhookDeliveries.id, generation: webhookDeliveries.generation })
    .from(webhookDeliveries)
    .where(and(inArray(webhookDeliveries.status, OWED), lt(webhookDeliveries.nextAttemptAt, dueBefore)))
    .limit(limit)
    .all();
  // One UPDATE per generation (the spacing depends on it), in chunks of 50 ids.
  const byGeneration = new Map<number, string[]>();
  for (const r of rows) byGeneration.set(r.generation, [...(byGeneration.get(r.generation) ?? []), r.id]);
  const claimed: ClaimedDelivery[] = [];
  for (const [generation, ids] of byGeneration) {
    const next = toTimestamp(at + reclaimDelayMs(generation + 1));
    for (let i = 0; i < ids.length; i += 50) {
      const chunk = ids.slice(i, i + 50);
      claimed.push(
        ...(await db
          .update(webhookDeliveries)
          .set({ generation: generation + 1, nextAttemptAt: next, updatedAt: toTimestamp(at) })
          .where(
            and(
              inArray(webhookDeliveries.id, chunk),
              eq(webhookDeliveries.generation, generation),
              inArray(webhookDeliveries.status, OWED),
              lt(webhookDeliveries.nextAttemptAt, dueBefore),
            ),
          )
          .returning({ id: webhookDeliveries.id, generation: webhookDeliveries.generation, attempts: webhookDeliveries.attempts })
          .all()),
      );
    }
  }
  return claimed;
}

/** Whether any delivery is still owed (the recovery alarm keeps running while one is). */
export async function hasOwedDeliveries(db: Db): Promise<boolean> {
  const row = await db.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(inArray(webhookDeliveries.status, OWED)).limit(1).get();
  return row !== undefined;
}
