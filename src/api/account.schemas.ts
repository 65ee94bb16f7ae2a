import { z } from "zod";
import { PLAN_NAMES } from "../domain/plans";
import { Timestamp } from "./schemas";

export const PlanLimitsSchema = z.object({
  max_sessions: z.number().int().nullable().meta({ description: "null = unlimited" }),
  daily_messages: z.number().int().nullable().meta({ description: "null = unlimited" }),
});

export const AccountSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    plan: z.enum(PLAN_NAMES),
    balance: z.number(),
    message_cost: z.number(),
    remaining_messages: z.number().int().nullable(),
    usage: z.object({ day: z.string(), messages: z.number().int(), sessions: z.number().int() }),
    limits: PlanLimitsSchema,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: "Account" });

export const ApiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().meta({ description: "First characters of the key, to tell keys apart.", example: "wag_3kF9xQ2a" }),
    last_used_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
    created_at: Timestamp,
  })
  .meta({ id: "ApiKey" });

export const NewApiKeySchema = ApiKeySchema.extend({
  key: z.string().nullable().meta({
    description: "The secret key. Shown only in this response; null in an Idempotency-Key replay (the secret is stored nowhere).",
  }),
}).meta({ id: "NewApiKey" });
