import { describe, expect, it } from "vitest";
import { DEFAULT_PLANS, planLimits, remainingMessages, resolvePlans } from "../../src/domain/plans";

describe("plans", () => {
  it("defaults to seed 002's limits", () => {
    expect(DEFAULT_PLANS.free).toEqual({ max_sessions: 10, daily_messages: 100 });
    expect(DEFAULT_PLANS.pro).toEqual({ max_sessions: null, daily_messages: 10_000 });
  });

  it("applies a deployment override per field", () => {
    const plans = resolvePlans('{"free":{"daily_messages":250}}');
    expect(plans.free).toEqual({ max_sessions: 10, daily_messages: 250 });
    expect(plans.pro).toEqual(DEFAULT_PLANS.pro);
  });

  it("fails loudly on an invalid override", () => {
    expect(() => resolvePlans('{"free":{"daily_messages":-1}}')).toThrow();
    expect(() => resolvePlans("{oops")).toThrow();
  });

  it("treats an unknown plan name as free", () => {
    expect(planLimits("legacy", "")).toEqual(DEFAULT_PLANS.free);
  });

  it("computes remaining messages from balance and cost", () => {
    expect(remainingMessages(4990, 10)).toBe(499);
    expect(remainingMessages(5, 10)).toBe(0);
    expect(remainingMessages(100, 0)).toBeNull();
  });
});
