import { z } from "zod";

// Defaults: free = 10 sessions and 100 messages a day; pro = unlimited sessions, 10,000 a day.
// null means unlimited. Deployments override through the PLANS variable (JSON).
export const PLAN_NAMES = ["free", "pro"] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

export interface PlanLimits {
  max_sessions: number | null;
  daily_messages: number | null;
}

export const DEFAULT_PLANS: Record<PlanName, PlanLimits> = {
  free: { max_sessions: 10, daily_messages: 100 },
  pro: { max_sessions: null, daily_messages: 10_000 },
};

const limitsOverride = z.object({
  max_sessions: z.number().int().positive().nullable().optional(),
  daily_messages: z.number().int().positive().nullable().optional(),
});
const plansOverride = z.partialRecord(z.enum(PLAN_NAMES), limitsOverride);

/** Plan table after applying the deployment's PLANS override; a bad override fails loudly. */
export function resolvePlans(override: string | undefined): Record<PlanName, PlanLimits> {
  if (!override?.trim()) return DEFAULT_PLANS;
  const parsed = plansOverride.parse(JSON.parse(override));
  const plans = { ...DEFAULT_PLANS };
  for (const name of PLAN_NAMES) {
    const o = parsed[name];
    if (o) plans[name] = { ...plans[name], ...o } as PlanLimits;
  }
  return plans;
}

export function planLimits(plan: string, override: string | undefined): PlanLimits {
  const plans = resolvePlans(override);
  return plans[(PLAN_NAMES as readonly string[]).includes(plan) ? (plan as PlanName) : "free"];
}

/** How many more messages the balance pays for. */
export function remainingMessages(balance: number, cost: number): number | null {
  if (cost <= 0) return null;
  return Math.floor(balance / cost);
}
