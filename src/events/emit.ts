// THE event producer. Anything that has something to tell subscribers (the session object:
// incoming messages, status changes of sent messages, session status and QR) calls
// `emitEvent`. It writes one `webhook_deliveries` row per subscriber (so no event is lost if
// the queue or the consumer restarts: the row is the record, the queue message only a
// wake-up) and enqueues one message per row on WEBHOOK_QUEUE.
import { database, type Db } from "../db/client";
import { insertDeliveries, insertNewDeliveries, listEnabledWebhooks, newDeliveryRow, type DeliveryRow, type WebhookRow } from "../db/webhooks.repo";
import { now } from "../domain/time";
import { armRecovery } from "../platform/recovery-arm";
import { newEventId, wantsEvent, type EmittedEventType, type WebhookFilters, type WebhookPayload } from "../domain/webhook-events";

/** Body of a wa-webhooks queue message. */
export interface WebhookQueueMessage {
  delivery_id: string;
  /** The delivery's generation when sent; a message of an older one is superseded. Absent = 0. */
  generation?: number;
  /**
   * Attempts the delivery made before this message (a sweep's message for a delivery whose
   * retry was lost): the retry schedule goes on from there, so a failing endpoint still ends
   * `dead`. Absent = 0 (a new event, or a replay: a fresh schedule).
   */
  attempts_before?: number;
}

export type EmitEnv = Pick<Env, "DB" | "WEBHOOK_QUEUE"> & Partial<Pick<Env, "RECOVERY">>;

export interface EmitEventInput {
  accountId: string;
  /** sessions.id (uuid) the event concerns; webhooks bound to another session skip it. */
  sessionId?: string | null;
  type: EmittedEventType;
  /** Event body (see MessageEventData / SessionStatusEventData / SessionQrEventData). */
  data: Record<string, unknown>;
  /**
   * Per-message callback (a send's `callback_url` / `callback_data`): the event is also POSTed
   * there, unsigned (no secret exists for an ad-hoc URL), with `data.callback_data` set.
   * The caller validates the URL when the message is accepted (checkWebhookUrl).
   */
  callback?: { url: string; data?: string | null } | null;
  /**
   * A stable id if the producer can derive one: re-emitting keeps the same webhook-id, and the
   * delivery rows (ids derived from it, deliveryIdFor) are written once. Default: new.
   */
  eventId?: string;
  createdAt?: string;
}

export interface EmitResult {
  eventId: string;
  /** The event's deliveries (with a stable `eventId`, those a former emit wrote too). */
  deliveryIds: string[];
}

/** A delivery id derived from its event and webhook, UUID-shaped: a re-emit or re-flush writes the same row. */
export async function deliveryIdFor(eventId: string, webhookId: string | null): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${eventId}:${webhookId ?? "callback"}`)));
  const hex = [...digest.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const SEND_BATCH_LIMIT = 100;

export function buildPayload(input: EmitEventInput, eventId: string, createdAt: string, extraData?: Record<string, unknown>): string {
  const payload: WebhookPayload = {
    id: eventId,
    type: input.type,
    created_at: createdAt,
    account_id: input.accountId,
    session_id: input.sessionId ?? null,
    data: extraData ? { ...input.data, ...extraData } : input.data,
  };
  return JSON.stringify(payload);
}

export function subscribers(hooks: WebhookRow[], input: EmitEventInput): WebhookRow[] {
  const event = { type: input.type, sessionId: input.sessionId ?? null, data: input.data };
  return hooks.filter((hook) =>
    wantsEvent(
      { enabled: hook.enabled, whatsappSessionId: hook.whatsappSessionId, events: hook.events, filters: hook.filters as WebhookFilters | null },
      event,
    ),
  );
}

/** Queue messages for deliveries (≤100 per sendBatch), each carrying its generation (and where its schedule stands). */
export async function wakeDeliveries(
  env: Pick<Env, "WEBHOOK_QUEUE">,
  rows: readonly { id: string; generation: number; attemptsBefore?: number }[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += SEND_BATCH_LIMIT) {
    const chunk = rows.slice(i, i + SEND_BATCH_LIMIT);
    await env.WEBHOOK_QUEUE.sendBatch(
      chunk.map((row) => {
        const body: WebhookQueueMessage = { delivery_id: row.id, generation: row.generation };
        if (row.attemptsBefore) body.attempts_before = row.attemptsBefore;
        return { body, contentType: "json" as const };
      }),
    );
  }
}

/** A replay: queue messages for rows already written (the recovery sweep covers a lost one). */
export async function resendDeliveries(env: EmitEnv, rows: readonly { id: string; generation: number }[]): Promise<void> {
  await armRecovery(env);
  await wakeDeliveries(env, rows);
}

/**
 * Writes the rows, then enqueues them. The rows are the record: should the queue message be
 * lost (a crash, a refused send), the recovery sweep armed here sends them again.
 */
export async function enqueueDeliveries(env: EmitEnv, db: Db, rows: DeliveryRow[]): Promise<void> {
  if (rows.length === 0) return;
  await insertDeliveries(db, rows);
  await armRecovery(env);
  await wakeDeliveries(env, rows);
}

/**
 * Fans an event out to every enabled webhook of the account that wants it (session,
 * events, filters), plus the per-message callback URL when given. At least once: the
 * same `eventId` is the `webhook-id` of every attempt and replay. With a stable `eventId`, a
 * repeat (a retry after the rows were written, a redelivered notification) adds no rows.
 */
export async function emitEvent(env: EmitEnv, input: EmitEventInput): Promise<EmitResult> {
  const db = database(env);
  const stable = input.eventId !== undefined;
  const eventId = input.eventId ?? newEventId();
  const createdAt = input.createdAt ?? now();
  const rows: DeliveryRow[] = [];

  if (input.type !== "webhook.test") {
    const hooks = subscribers(await listEnabledWebhooks(db, input.accountId), input);
    if (hooks.length > 0) {
      const payload = buildPayload(input, eventId, createdAt);
      for (const hook of hooks) {
        rows.push(newDeliveryRow({ accountId: input.accountId, webhookId: hook.id, url: hook.url, eventId, eventType: input.type, payload }));
      }
    }
  }
  if (input.callback?.url) {
    const payload = buildPayload(input, eventId, createdAt, { callback_data: input.callback.data ?? null });
    rows.push(newDeliveryRow({ accountId: input.accountId, webhookId: null, url: input.callback.url, eventId, eventType: input.type, payload }));
  }

  if (!stable) {
    await enqueueDeliveries(env, db, rows);
    return { eventId, deliveryIds: rows.map((r) => r.id) };
  }
  for (const row of rows) row.id = await deliveryIdFor(eventId, row.webhookId);
  if (rows.length === 0) return { eventId, deliveryIds: [] };
  // Armed before the rows exist: should the wake-up below be lost, the sweep sends them.
  await armRecovery(env);
  const added = new Set(await insertNewDeliveries(db, rows));
  await wakeDeliveries(env, rows.filter((r) => added.has(r.id)));
  return { eventId, deliveryIds: rows.map((r) => r.id) };
}

/** The test ping: a `webhook.test` event to one webhook, through the same queue and consumer. */
export async function emitTestEvent(env: EmitEnv, hook: WebhookRow): Promise<{ eventId: string; delivery: DeliveryRow }> {
  const db = database(env);
  const eventId = newEventId();
  const createdAt = now();
  const payload = buildPayload(
    {
      accountId: hook.accountId,
      sessionId: hook.whatsappSessionId,
      type: "webhook.test",
      data: { webhook_id: hook.id, message: "This is a test event from your WhatsApp gateway." },
    },
    eventId,
    createdAt,
  );
  const row = newDeliveryRow({ accountId: hook.accountId, webhookId: hook.id, url: hook.url, eventId, eventType: "webhook.test", payload, at: createdAt });
  await enqueueDeliveries(env, db, [row]);
  return { eventId, delivery: row };
}
