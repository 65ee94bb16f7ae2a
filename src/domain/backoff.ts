// Every retry schedule of the gateway, as data and small functions. Pure: the callers own the
// clocks, timers and counters; this module only says how long to wait and when to stop.
//
//   reconnect       session object: a dropped WhatsApp socket, fast ladder then slow retries
//   outbox retry    session object: a send WhatsApp did not take, retried in place
//   send queue      wa-send consumer: a job its session object did not take
//   webhook         wa-webhooks consumer: a POST without a 2xx, on a fixed 20-step table

/** `baseMs · 2^step`, capped at `maxMs`: the doubling the exponential policies share. */
export function doubling(baseMs: number, step: number, maxMs = Infinity): number {
  return Math.min(maxMs, baseMs * 2 ** step);
}

// ---- Reconnect ------------------------------------------------------------------------

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Attempts on the fast exponential ladder; after them a linked session retries every `slowMs`. */
  maxAttempts: number;
  slowMs: number;
}

/** 1 s doubling to 5 min for 12 attempts, then every 15 min. */
export const RECONNECT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 5 * 60_000, maxAttempts: 12, slowMs: 15 * 60_000 };

/** Whether attempt `attempt` (0-based) is past the fast ladder. */
export function backoffExhausted(attempt: number, policy: BackoffPolicy = RECONNECT_BACKOFF): boolean {
  return attempt >= policy.maxAttempts;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential with "equal jitter", so
 * many sessions dropped together do not come back in lockstep, and never below half the step.
 * Past the ladder: `slowMs` with the same jitter, forever (the caller decides who may stop).
 */
export function reconnectDelay(attempt: number, policy: BackoffPolicy = RECONNECT_BACKOFF, random = Math.random): number {
  const step = backoffExhausted(attempt, policy) ? policy.slowMs : doubling(policy.baseMs, attempt, policy.maxMs);
  return Math.round(step / 2 + random() * (step / 2));
}

/** A socket that stayed logged in this long was healthy: its close starts the backoff ladder afresh. */
export const STABLE_CONNECTION_MS = 60_000;

/**
 * Backoff attempts to count after a close. An `open` alone does not reset them: a server that
 * accepts the login and drops it at once would otherwise be retried every second forever.
 */
export function attemptsAfterClose(attempts: number, openedAt: number | null, closedAt: number): number {
  return openedAt !== null && closedAt - openedAt >= STABLE_CONNECTION_MS ? 0 : attempts;
}

// ---- Outbox retry -----------------------------------------------------------------------

/** First step of the outbox's in-place retry; it doubles per attempt, uncapped (attempts are few). */
export const OUTBOX_RETRY_BASE_MS = 1_000;

/** Delay before the outbox retries an item that has been tried `attempts` times: 2^attempts s. */
export function outboxRetryDelayMs(attempts: number): number {
  return doubling(OUTBOX_RETRY_BASE_MS, attempts);
}

// ---- Send queue -------------------------------------------------------------------------

/** 5 s doubling to 5 min: a session object that refused a job is usually back within minutes. */
export const SEND_QUEUE_RETRY = { baseSeconds: 5, maxSeconds: 300 } as const;

/** Delay before the send queue retries a job after its `attempts`-th (1-based) failed delivery. */
export function sendQueueRetryDelaySeconds(attempts: number): number {
  return doubling(SEND_QUEUE_RETRY.baseSeconds, Math.max(0, attempts - 1), SEND_QUEUE_RETRY.maxSeconds);
}

// ---- Webhook schedule -------------------------------------------------------------------

/**
 * The queue's own retry counter drives it: failed attempt n (1-based) is retried after entry
 * n-1. Twenty delays, matching `max_retries = 20` of wa-webhooks in wrangler.toml, so attempt
 * 21 is the last; its failure sends the message to wa-webhooks-dlq, whose consumer marks the
 * delivery `dead`. First retries come within seconds, then grow; the 21 attempts span about
 * 32 hours.
 */
export const WEBHOOK_RETRY_DELAYS_SECONDS: readonly number[] = [
  5, 15, 30, 60, 120, // within the first 4 minutes
  300, 600, 900, 1800, // up to ~1 h
  3600, 3600, 7200, 7200, // hours
  10_800, 10_800, 10_800, 14_400, 14_400, 14_400, 14_400, // the long tail, past 24 h
];

/** Attempts one webhook queue message gets: the first, plus one per delay. */
export const WEBHOOK_MAX_ATTEMPTS = WEBHOOK_RETRY_DELAYS_SECONDS.length + 1;

/** Cloudflare Queues accept at most 12 h of delay per retry. */
export const MAX_QUEUE_DELAY_SECONDS = 43_200;

/** `WEBHOOK_RETRY_SCALE` multiplies every webhook delay (tests use "0"); absent or invalid means 1. */
export function parseRetryScale(raw: string | undefined | null): number {
  if (raw === undefined || raw === null || raw.trim() === "") return 1;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 && value <= 1 ? value : 1;
}

/**
 * Delay before retrying after failed webhook attempt `attempt` (1-based), in whole seconds as
 * Queues want. Past the table the last delay repeats. `scale` multiplies it (tests use 0).
 */
export function webhookRetryDelaySeconds(attempt: number, scale = 1): number {
  const index = Math.min(Math.max(1, Math.floor(attempt)), WEBHOOK_RETRY_DELAYS_SECONDS.length) - 1;
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.round(WEBHOOK_RETRY_DELAYS_SECONDS[index] * scale));
}

/** Whether failed webhook attempt `attempt` was the last one the schedule allows. */
export function isFinalWebhookAttempt(attempt: number): boolean {
  return attempt >= WEBHOOK_MAX_ATTEMPTS;
}

/** Seconds from the first webhook attempt to the last (at scale 1). */
export function webhookRetrySpanSeconds(): number {
  return WEBHOOK_RETRY_DELAYS_SECONDS.reduce((sum, d) => sum + d, 0);
}
