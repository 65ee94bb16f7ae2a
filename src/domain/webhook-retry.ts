// Backoff for webhook deliveries. Pure.
//
// The queue's own retry counter drives it: a failed attempt n (1-based) is retried after
// RETRY_DELAYS_SECONDS[n-1]. There are 20 delays to match `max_retries = 20` of wa-webhooks
// in wrangler.toml, so attempt 21 is the last; its failure sends the message to
// wa-webhooks-dlq, whose consumer marks the delivery `dead`. First retries come within
// seconds, then grow; the 21 attempts span about 32 hours.

export const RETRY_DELAYS_SECONDS: readonly number[] = [
  5, 15, 30, 60, 120, // within the first 4 minutes
  300, 600, 900, 1800, // up to ~1 h
  3600, 3600, 7200, 7200, // hours
  10_800, 10_800, 10_800, 14_400, 14_400, 14_400, 14_400, // the long tail, past 24 h
];

/** Attempts one queue message gets: the first, plus one per delay. */
export const MAX_ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;

/** Cloudflare Queues accept at most 12 h of delay per retry. */
export const MAX_QUEUE_DELAY_SECONDS = 43_200;

/** `WEBHOOK_RETRY_SCALE` multiplies every delay (tests use "0"); absent or invalid means 1. */
export function parseRetryScale(raw: string | undefined | null): number {
  if (raw === undefined || raw === null || raw.trim() === "") return 1;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 && value <= 1 ? value : 1;
}

/** Delay before retrying after failed attempt `attempt` (1-based); whole seconds, as Queues want. */
export function retryDelaySeconds(attempt: number, scale = 1): number {
  const index = Math.min(Math.max(1, Math.floor(attempt)), RETRY_DELAYS_SECONDS.length) - 1;
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.round(RETRY_DELAYS_SECONDS[index] * scale));
}

/** Whether failed attempt `attempt` was the last one the schedule allows. */
export function isFinalAttempt(attempt: number): boolean {
  return attempt >= MAX_ATTEMPTS;
}

/** Seconds from the first attempt to the last (at scale 1). */
export function retrySpanSeconds(): number {
  return RETRY_DELAYS_SECONDS.reduce((sum, d) => sum + d, 0);
}
