import { and, desc, eq, inArray, lt, or, sql } from "drizzle-orm";
import type { WebhookFilters } from "../domain/webhook-events";
import { now } from "../domain/time";
import type { Cursor } from "../domain/cursor";
import type { Db } from "./client";
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

/** The webhook, its deliveries and their attempts. Queued messages for them are then dropped by the consumer. */
export async function deleteWebhook(db: Db, accountId: string, id: string): Promise<void> {
  await db.batch([
    db
      .delete(webhookAttempts)
      .where(
        inArray(
          webhookAttempts.deliveryId,
          db
            .select({ id: webhookDeliveries.id })
            .from(webhookDeliveries)
            .where(and(eq(webhookDeliveries.webhookId, id), eq(webhookDeliveries.accountId, accountId))),
        ),
      ),
    db.delete(webhookDeliveries).where(and(eq(webhookDeliveries.webhookId, id), eq(webhookDeliveries.accountId, accountId))),
    db.delete(webhooks).where(and(eq(webhooks.id, id), eq(webhooks.accountId, accountId))),
  ]);
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
): Promise<void> {
  const at = now();
  await db.batch([
    db.insert(webhookAttempts).values({
      id: crypto.randomUUID(),
      deliveryId,
      attempt: sql`(SELECT attempts + 1 FROM webhook_deliveries WHERE id = ${deliveryId})`,
      statusCode: outcome.statusCode,
      error: outcome.error,
      durationMs: outcome.durationMs,
      createdAt: at,
    }),
    db
      .update(webhookDeliveries)
      .set({
        status: next.status,
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        lastStatusCode: outcome.statusCode,
        lastError: outcome.error,
        nextAttemptAt: next.nextAttemptAt,
        ...(next.status === "delivered" ? { deliveredAt: at } : {}),
        ...(next.url ? { url: next.url } : {}),
        updatedAt: at,
      })
      .where(eq(webhookDeliveries.id, deliveryId)),
  ]);
}

/** Final failure without a new attempt (dead-lettered, webhook disabled or gone). */
export async function markDeliveriesDead(db: Db, ids: string[], reason: string, options: { overwriteError?: boolean } = {}): Promise<void> {
  const at = now();
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
      .where(and(inArray(webhookDeliveries.id, chunk), sql`${webhookDeliveries.status} <> 'delivered'`));
  }
}

/** Back to pending for a replay; the event id and payload stay as they were. */
export async function resetForReplay(db: Db, id: string): Promise<DeliveryRow | undefined> {
  const at = now();
  return db
    .update(webhookDeliveries)
    .set({ status: "pending", nextAttemptAt: at, updatedAt: at })
    .where(eq(webhookDeliveries.id, id))
    .returning()
    .get();
}
