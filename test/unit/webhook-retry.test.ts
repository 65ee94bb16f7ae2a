import { describe, expect, it } from "vitest";
import {
  WEBHOOK_MAX_ATTEMPTS as MAX_ATTEMPTS,
  MAX_QUEUE_DELAY_SECONDS,
  WEBHOOK_RETRY_DELAYS_SECONDS as RETRY_DELAYS_SECONDS,
  isFinalWebhookAttempt as isFinalAttempt,
  parseRetryScale,
  webhookRetryDelaySeconds as retryDelaySeconds,
  webhookRetrySpanSeconds as retrySpanSeconds,
} from "../../src/domain/backoff";

describe("webhook retry schedule", () => {
  it("retries first within seconds, then grows, never shrinking", () => {
    expect(retryDelaySeconds(1)).toBeLessThanOrEqual(10);
    expect(retryDelaySeconds(2)).toBeLessThan(60);
    for (let i = 1; i < RETRY_DELAYS_SECONDS.length; i++) {
      expect(RETRY_DELAYS_SECONDS[i]).toBeGreaterThanOrEqual(RETRY_DELAYS_SECONDS[i - 1]);
    }
  });

  it("spans at least 24 hours within the queue's 20 retries and 12 h per delay", () => {
    expect(retrySpanSeconds()).toBeGreaterThanOrEqual(24 * 3600);
    expect(RETRY_DELAYS_SECONDS.length).toBe(20); // wrangler.toml: max_retries = 20
    expect(MAX_ATTEMPTS).toBe(21);
    for (const d of RETRY_DELAYS_SECONDS) expect(d).toBeLessThanOrEqual(MAX_QUEUE_DELAY_SECONDS);
  });

  it("is bounded: the last delay repeats past the end, and attempt 21 is final", () => {
    expect(retryDelaySeconds(50)).toBe(RETRY_DELAYS_SECONDS[RETRY_DELAYS_SECONDS.length - 1]);
    expect(retryDelaySeconds(0)).toBe(RETRY_DELAYS_SECONDS[0]);
    expect(isFinalAttempt(20)).toBe(false);
    expect(isFinalAttempt(21)).toBe(true);
  });

  it("scales for tests, in whole seconds", () => {
    expect(parseRetryScale("0")).toBe(0);
    expect(parseRetryScale(undefined)).toBe(1);
    expect(parseRetryScale("")).toBe(1);
    expect(parseRetryScale("abc")).toBe(1);
    expect(parseRetryScale("5")).toBe(1); // never longer than production
    expect(retryDelaySeconds(10, 0)).toBe(0);
    expect(retryDelaySeconds(3, 0.1)).toBe(3);
    expect(Number.isInteger(retryDelaySeconds(1, 0.33))).toBe(true);
  });
});
