import { z } from "zod";
import { insertAccountWithKey, newAccountRow } from "../db/accounts.repo";
import { newApiKey } from "../db/api-keys.repo";
import { database } from "../db/client";
import { PLAN_NAMES } from "../domain/plans";
import { AccountSchema, NewApiKeySchema } from "./account.schemas";
import { singleLine } from "./schemas";
import { ok } from "./http";
import { presentAccount, presentApiKey } from "./presenters";
import type { Api } from "./route";

const CreateAccountBody = z
  .object({
    name: singleLine(z.string().trim().min(1).max(200)),
    plan: z.enum(PLAN_NAMES).default("free"),
    balance: z.number().nonnegative().optional(),
    message_cost: z.number().nonnegative().optional(),
  })
  .meta({ example: { name: "My company", plan: "pro", balance: 100000, message_cost: 10 } });

export function registerAdminRoutes(api: Api): void {
  api.route({
    method: "post",
    path: "/v1/admin/accounts",
    summary: "Create an account and its first API key (admin token required)",
    tags: ["Admin"],
    auth: "admin",
    body: CreateAccountBody,
    responses: {
      201: {
        description: "Created",
        schema: z.object({ success: z.literal(true), account: AccountSchema, api_key: NewApiKeySchema }),
      },
    },
    async handler({ env, body }) {
      const account = newAccountRow({
        name: body.name,
        plan: body.plan,
        balance: body.balance ?? Number(env.DEFAULT_BALANCE || 0),
        messageCost: body.message_cost ?? Number(env.DEFAULT_MESSAGE_COST || 10),
      });
      const { row, secret } = await newApiKey(account.id, "default");
      await insertAccountWithKey(database(env), account, row);
      return ok(
        { account: presentAccount(account, env, { messages: 0, sessions: 0 }), api_key: { ...presentApiKey(row), key: secret } },
        201,
      );
    },
  });
}
