import { describe, expect, it } from "vitest";
import {
  attemptsAfterClose,
  backoffExhausted,
  doubling,
  isFinalWebhookAttempt,
  MAX_QUEUE_DELAY_SECONDS,
  outboxRetryDelayMs,
  parseRetryScale,
  RECONNECT_BACKOFF,
  reconnectDelay,
  SEND_QUEUE_RETRY,
  sendQueueRetryDelaySeconds,
  STABLE_CONNECTION_MS,
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_RETRY_DELAYS_SECONDS,
  webhookRetryDelaySeconds,
  webhookRetrySpanSeconds,
} from "../../src/domain/backoff";

describe("doubling", () => {
  it("doubles from the base per step and stops at the cap", () => {
    expect([0, 1, 2, 3].map((step) => doubling(5, step))).toEqual([5, 10, 20, 40]);
    expect(doubling(5, 10, 300)).toBe(300);
    expect(doubling(1_000, 40)).toBe(1_000 * 2 ** 40); // uncapped by default
  });
});

describe("reconnect policy", () => {
  it("is 1 s doubling to 5 min for 12 attempts, then every 15 min", () => {
    expect(RECONNECT_BACKOFF).toEqual({ baseMs: 1_000, maxMs: 300_000, maxAttempts: 12, slowMs: 900_000 });
  });

  it("gives exact bounds with an injected random: half the step at 0, the whole step at 1", () => {
    const steps = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000];
    steps.forEach((step, attempt) => {
      expect(reconnectDelay(attempt, RECONNECT_BACKOFF, () => 0)).toBe(step / 2);
      expect(reconnectDelay(attempt, RECONNECT_BACKOFF, () => 1)).toBe(step);
      expect(reconnectDelay(attempt, RECONNECT_BACKOFF, () => 0.5)).toBe(Math.round(step * 0.75));
    });
  });

  it("stays within the jitter bounds for any random value", () => {
    for (const r of [0, 0.1, 0.37, 0.5, 0.99, 1]) {
      const delay = reconnectDelay(4, RECONNECT_BACKOFF, () => r);
      expect(delay).toBeGreaterThanOrEqual(8_000);
      expect(delay).toBeLessThanOrEqual(16_000);
    }
  });

  it("uses the reconnect policy by default", () => {
    expect(reconnectDelay(0, undefined, () => 1)).toBe(1_000);
    expect(backoffExhausted(11)).toBe(false);
    expect(backoffExhausted(12)).toBe(true);
  });

  it("retries every 15 min (with jitter) once the 12 fast attempts are used up", () => {
    for (const attempt of [12, 13, 100]) {
      expect(reconnectDelay(attempt, RECONNECT_BACKOFF, () => 0)).toBe(450_000);
      expect(reconnectDelay(attempt, RECONNECT_BACKOFF, () => 1)).toBe(900_000);
    }
  });

  it("restarts the ladder only after a login that lasted a minute", () => {
    expect(attemptsAfterClose(5, 0, STABLE_CONNECTION_MS - 1)).toBe(5);
    expect(attemptsAfterClose(5, 0, STABLE_CONNECTION_MS)).toBe(0);
    expect(attemptsAfterClose(5, null, 10 * STABLE_CONNECTION_MS)).toBe(5);
  });
});

describe("outbox retry policy", () => {
  it("waits 2^attempts seconds, uncapped", () => {
    expect([0, 1, 2, 3, 4].map(outboxRetryDelayMs)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
    expect(outboxRetryDelayMs(10)).toBe(1_024_000);
  });

  it("equals the formula the session object used inline", () => {
    for (let attempts = 0; attempts <= 30; attempts++) expect(outboxRetryDelayMs(attempts)).toBe(2 ** attempts * 1000);
  });
});

describe("send queue policy", () => {
  it("waits 5 s after the first failure, doubling to a 5 min cap", () => {
    expect(SEND_QUEUE_RETRY).toEqual({ baseSeconds: 5, maxSeconds: 300 });
    expect([1, 2, 3, 4, 5, 6, 7].map(sendQueueRetryDelaySeconds)).toEqual([5, 10, 20, 40, 80, 160, 300]);
    expect(sendQueueRetryDelaySeconds(50)).toBe(300);
  });

  it("treats a count below 1 as the first failure", () => {
    expect(sendQueueRetryDelaySeconds(0)).toBe(5);
    expect(sendQueueRetryDelaySeconds(-3)).toBe(5);
  });
});

describe("webhook schedule", () => {
  it("has 20 delays, so 21 attempts, the last final", () => {
    expect(WEBHOOK_RETRY_DELAYS_SECONDS).toEqual([
      5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 3600, 7200, 7200, 10_800, 10_800, 10_800, 14_400, 14_400, 14_400, 14_400,
    ]);
    expect(WEBHOOK_MAX_ATTEMPTS).toBe(21);
    expect(isFinalWebhookAttempt(20)).toBe(false);
    expect(isFinalWebhookAttempt(21)).toBe(true);
    expect(isFinalWebhookAttempt(22)).toBe(true);
  });

  it("gives the table entry of each failed attempt, the first for 0 and the last past the end", () => {
    WEBHOOK_RETRY_DELAYS_SECONDS.forEach((delay, i) => expect(webhookRetryDelaySeconds(i + 1)).toBe(delay));
    expect(webhookRetryDelaySeconds(0)).toBe(5);
    expect(webhookRetryDelaySeconds(2.9)).toBe(15);
    expect(webhookRetryDelaySeconds(99)).toBe(14_400);
  });

  it("scales in whole seconds and never past the queue's 12 h limit", () => {
    expect(webhookRetryDelaySeconds(5, 0)).toBe(0);
    expect(webhookRetryDelaySeconds(2, 0.5)).toBe(8); // 7.5 rounds up
    expect(webhookRetryDelaySeconds(20, 1)).toBeLessThanOrEqual(MAX_QUEUE_DELAY_SECONDS);
    expect(MAX_QUEUE_DELAY_SECONDS).toBe(43_200);
  });

  it("spans the sum of its delays, about 32 hours", () => {
    expect(webhookRetrySpanSeconds()).toBe(115_430);
  });

  it("reads its scale from WEBHOOK_RETRY_SCALE, within 0..1", () => {
    expect(parseRetryScale("0.25")).toBe(0.25);
    expect(parseRetryScale("1")).toBe(1);
    expect(parseRetryScale("-1")).toBe(1);
    expect(parseRetryScale(" ")).toBe(1);
    expect(parseRetryScale(null)).toBe(1);
  });
});
