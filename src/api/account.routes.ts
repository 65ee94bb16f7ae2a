import { messagesToday } from "../db/accounts.repo";
import { countAccountSessions } from "../db/sessions.repo";
import { database } from "../db/client";
import { AccountSchema } from "./account.schemas";
import { ok } from "./http";
import { presentAccount } from "./presenters";
import type { Api } from "./route";
import { z } from "zod";

export function registerAccountRoutes(api: Api): void {
  api.route({
    method: "get",
    path: "/v1/account",
    summary: "Your account: plan, balance, message cost, today's usage and limits",
    tags: ["Account"],
    auth: "account",
    responses: { 200: { description: "The account", schema: z.object({ success: z.literal(true), account: AccountSchema }) } },
    async handler({ env, auth }) {
      const db = database(env);
      const [messages, sessions] = await Promise.all([
        messagesToday(db, auth.account.id),
        countAccountSessions(db, auth.account.id),
      ]);
      return ok({ account: presentAccount(auth.account, env, { messages, sessions }) });
    },
  });
}
