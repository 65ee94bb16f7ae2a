import type { AccountRow } from "../db/accounts.repo";
import type { ApiKeyRow } from "../db/api-keys.repo";
import { planLimits, remainingMessages, type PlanName } from "../domain/plans";
import { utcDay } from "../domain/time";

export function presentApiKey(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    last_used_at: row.lastUsedAt,
    revoked_at: row.revokedAt,
    created_at: row.createdAt,
  };
}

export function presentAccount(row: AccountRow, env: Env, usage: { messages: number; sessions: number }) {
  return {
    id: row.id,
    name: row.name,
    plan: row.plan as PlanName,
    balance: row.balance,
    message_cost: row.messageCost,
    remaining_messages: remainingMessages(row.balance, row.messageCost),
    usage: { day: utcDay(), ...usage },
    limits: planLimits(row.plan, env.PLANS),
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}
