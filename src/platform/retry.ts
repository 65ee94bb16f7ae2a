// Bounded retry in one place: a call is tried at most `attempts` times, and only what the
// caller names as retryable is tried again. Two kinds of "try again" exist here: a thrown
// error (`retryable`) and an answer that says the work did not happen (`retryResult`, e.g. a
// D1 batch whose guard lost a race). Once the attempts are spent, the last error is thrown or
// the last answer returned, so the caller still decides what the final failure means.

export interface RetryOptions<T> {
  /** Tries in all, the first included (at least 1). */
  attempts: number;
  /** Wait before try n+1 after try n failed (n is 1-based); a number is the same every time. Default 0. */
  delayMs?: number | ((attempt: number) => number);
  /** Whether a thrown error may be retried. Default: none is. */
  retryable?: (error: unknown, attempt: number) => boolean;
  /** Whether a returned value asks for another try. Default: none does. */
  retryResult?: (value: T, attempt: number) => boolean;
  /** How to wait; tests inject one. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
}

const timer = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions<T>): Promise<T> {
  const attempts = Number.isFinite(options.attempts) ? Math.max(1, Math.floor(options.attempts)) : 1;
  const sleep = options.sleep ?? timer;
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= attempts;
    let value: T;
    try {
      value = await fn(attempt);
    } catch (error) {
      if (last || !options.retryable?.(error, attempt)) throw error;
      await pause(options, attempt, sleep);
      continue;
    }
    if (last || !options.retryResult?.(value, attempt)) return value;
    await pause(options, attempt, sleep);
  }
}

async function pause<T>(options: RetryOptions<T>, attempt: number, sleep: (ms: number) => Promise<void>): Promise<void> {
  const ms = typeof options.delayMs === "function" ? options.delayMs(attempt) : (options.delayMs ?? 0);
  if (ms > 0) await sleep(ms);
}
