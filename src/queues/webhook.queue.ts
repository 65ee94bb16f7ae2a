// wa-webhooks consumer: one signed POST per queue message, every attempt recorded.
//
// The D1 delivery row is the source of truth (url, event id, payload); the queue message
// only carries its id. 2xx = delivered. Anything else, a redirect, a network error or the
// timeout = a failed attempt, retried after the webhook schedule of src/domain/backoff.ts via
// `message.retry({ delaySeconds })`. When the queue runs out of retries (max_retries in
// wrangler.toml) the message goes to wa-webhooks-dlq, whose consumer marks the delivery dead.
import { Webhook } from "standardwebhooks";
import { database, type Db } from "../db/client";
import {
  findDelivery,
  findWebhookById,
  markDeliveriesDead,
  recordAttempt,
  type AttemptOutcome,
  type DeliveryRow,
} from "../db/webhooks.repo";
import { toTimestamp } from "../domain/time";
import { isFinalWebhookAttempt, parseRetryScale, webhookRetryDelaySeconds } from "../domain/backoff";
import { checkWebhookUrl, privateHostsAllowed } from "../domain/webhook-url";
import type { WebhookQueueMessage } from "../events/emit";
import { RESERVED_HEADERS } from "../domain/webhook-headers";
import { log } from "../platform/log";

export type WebhookEnv = Pick<Env, "DB" | "WEBHOOK_QUEUE"> & {
  /** Multiplies every retry delay; "0" in tests. */
  WEBHOOK_RETRY_SCALE?: string;
  /** "on" lets deliveries reach loopback/private hosts (local development, tests). */
  ALLOW_PRIVATE_WEBHOOK_HOSTS?: string;
};

export const DELIVERY_TIMEOUT_MS = 10_000;
export const USER_AGENT = "wa-gateway-webhooks/1";
/** Headers we set; custom headers can never replace them. */
/**
 * Standard Webhooks headers. `secret` null = unsigned (per-message callback URLs): the id
 * and timestamp are still sent so receivers can deduplicate.
 */
export function deliveryHeaders(input: {
  secret: string | null;
  eventId: string;
  body: string;
  custom?: Record<string, string> | null;
  at?: Date;
}): Headers {
  const at = input.at ?? new Date();
  const headers = new Headers();
  for (const [name, value] of Object.entries(input.custom ?? {})) {
    if (!RESERVED_HEADERS.includes(name.toLowerCase())) headers.set(name, value);
  }
  headers.set("content-type", "application/json");
  headers.set("user-agent", USER_AGENT);
  headers.set("webhook-id", input.eventId);
  headers.set("webhook-timestamp", String(Math.floor(at.getTime() / 1000)));
  if (input.secret) headers.set("webhook-signature", new Webhook(input.secret).sign(input.eventId, at, input.body));
  return headers;
}

/** One POST. Never throws: every outcome becomes an attempt record. */
export async function post(url: string, headers: Headers, body: string, timeoutMs = DELIVERY_TIMEOUT_MS): Promise<AttemptOutcome & { ok: boolean }> {
  const started = Date.now();
  try {
    const response = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    // Drain so the connection is released; the receiver's answer is not kept.
    await response.body?.cancel().catch(() => undefined);
    const ok = response.status >= 200 && response.status < 300;
    return {
      ok,
      statusCode: response.status,
      error: ok ? null : `HTTP ${response.status}${response.status >= 300 && response.status < 400 ? " (redirects are not followed)" : ""}`,
      durationMs: Date.now() - started,
    };
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const message =
      name === "TimeoutError" || name === "AbortError"
        ? `timeout after ${timeoutMs} ms`
        : `network error: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500);
    return { ok: false, statusCode: null, error: message, durationMs: Date.now() - started };
  }
}

type Outcome = { kind: "ack" } | { kind: "retry"; delaySeconds: number };

/**
 * Everything about one delivery attempt; the caller acks or retries the queue message.
 * `queueAttempt` is the attempt's place in the retry schedule (1-based). `generation` is the
 * queue message's: each replay or sweep starts a new generation with its own message, and
 * only the message of the delivery's current generation may attempt it or move its status.
 * An older one (a retry pending when the replay came) is acked unused.
 */
export async function attemptDelivery(env: WebhookEnv, db: Db, delivery: DeliveryRow, queueAttempt: number, generation = 0): Promise<Outcome> {
  if (generation !== delivery.generation) return { kind: "ack" };
  // Done already (a redelivered message of this generation): nothing to send.
  if (delivery.status === "delivered" || delivery.status === "dead") return { kind: "ack" };

  let url = delivery.url;
  let secret: string | null = null;
  let custom: Record<string, string> | null = null;
  if (delivery.webhookId) {
    const hook = await findWebhookById(db, delivery.webhookId);
    if (!hook) return { kind: "ack" }; // deleted with its deliveries
    if (!hook.enabled) {
      await markDeliveriesDead(db, [delivery.id], "webhook disabled", { overwriteError: true, generation });
      return { kind: "ack" };
    }
    // The webhook's current URL: fixing a broken URL lets pending retries through.
    url = hook.url;
    secret = hook.secret;
    custom = hook.headers;
  }

  const check = checkWebhookUrl(url, { allowPrivate: privateHostsAllowed(env) });
  if (!check.ok) {
    await recordAttempt(db, delivery.id, { statusCode: null, error: `URL refused: ${check.message}`, durationMs: 0 }, { status: "dead", nextAttemptAt: null }, generation);
    return { kind: "ack" };
  }

  const headers = deliveryHeaders({ secret, eventId: delivery.eventId, body: delivery.payload, custom });
  const result = await post(url, headers, delivery.payload);
  const urlChange = url !== delivery.url ? { url } : {};
  if (result.ok) {
    // Delivered, if this generation is still current. Superseded meanwhile (a replay, a sweep),
    // the attempt is logged but the newer message still POSTs: a replay always sends once,
    // and the receiver deduplicates on webhook-id.
    await recordAttempt(db, delivery.id, result, { status: "delivered", nextAttemptAt: null, ...urlChange }, generation);
    return { kind: "ack" };
  }
  const delaySeconds = webhookRetryDelaySeconds(queueAttempt, parseRetryScale(env.WEBHOOK_RETRY_SCALE));
  if (isFinalWebhookAttempt(queueAttempt)) {
    // The schedule is spent. Retrying hands the message to the queue, which dead-letters
    // it (max_retries); the DLQ consumer confirms `dead`. Should the queue allow more (a
    // higher max_retries, or a sweep's message that started mid-schedule), the next attempt
    // finds the delivery dead and stops there.
    const { current } = await recordAttempt(db, delivery.id, result, { status: "dead", nextAttemptAt: null, ...urlChange }, generation);
    return current ? { kind: "retry", delaySeconds: 0 } : { kind: "ack" };
  }
  // Superseded while posting (a replay came meanwhile): the newer message carries on.
  const { current } = await recordAttempt(
    db,
    delivery.id,
    result,
    { status: "failed", nextAttemptAt: toTimestamp(Date.now() + delaySeconds * 1000), ...urlChange },
    generation,
  );
  return current ? { kind: "retry", delaySeconds } : { kind: "ack" };
}

/** The attempt's place in the retry schedule: attempts made before this message, plus the queue's count. */
export function scheduleAttemptOf(body: Partial<WebhookQueueMessage> | null | undefined, queueAttempts: number): number {
  const before = body?.attempts_before;
  return (typeof before === "number" && Number.isInteger(before) && before > 0 ? before : 0) + queueAttempts;
}

/** A message's generation; messages sent before generations existed count as 0. */
export function generationOf(body: Partial<WebhookQueueMessage> | null | undefined): number {
  const generation = body?.generation;
  return typeof generation === "number" && Number.isInteger(generation) && generation >= 0 ? generation : 0;
}

export async function handleWebhookBatch(batch: MessageBatch<WebhookQueueMessage>, env: WebhookEnv, _ctx: ExecutionContext): Promise<void> {
  const db = database(env);
  const scale = parseRetryScale(env.WEBHOOK_RETRY_SCALE);
  await Promise.all(
    batch.messages.map(async (message) => {
      const deliveryId = message.body?.delivery_id;
      if (typeof deliveryId !== "string") {
        log.error({ id: message.id }, "webhook queue: message without delivery_id");
        message.ack();
        return;
      }
      try {
        const delivery = await findDelivery(db, deliveryId);
        if (!delivery) {
          message.ack();
          return;
        }
        const outcome = await attemptDelivery(env, db, delivery, scheduleAttemptOf(message.body, message.attempts), generationOf(message.body));
        if (outcome.kind === "ack") message.ack();
        else message.retry({ delaySeconds: outcome.delaySeconds });
      } catch (error) {
        // Our own failure (D1 unavailable, ...): the event is still owed, try again later.
        log.error({ delivery_id: deliveryId, error: error instanceof Error ? error.message : String(error) }, "webhook delivery crashed");
        message.retry({ delaySeconds: webhookRetryDelaySeconds(scheduleAttemptOf(message.body, message.attempts), scale) });
      }
    }),
  );
}
