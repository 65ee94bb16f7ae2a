import { z } from "zod";
import { findKey, insertApiKey, listKeys, newApiKey, revokeKey } from "../db/api-keys.repo";
import { database } from "../db/client";
import { ApiKeySchema, NewApiKeySchema } from "./account.schemas";
import { notFound } from "./errors";
import { ok } from "./http";
import { presentApiKey } from "./presenters";
import type { Api } from "./route";
import { IdParams, singleLine } from "./schemas";

const CreateKeyBody = z
  .object({
    name: singleLine(z.string().trim().min(1).max(100)).default("API key").meta({ example: "production" }),
  })
  .meta({ example: { name: "production" } });

export function registerKeyRoutes(api: Api): void {
  api.route({
    method: "post",
    path: "/v1/keys",
    summary: "Create an API key (the secret is shown once)",
    description: "With an Idempotency-Key, a replay answers with the same key and `key: null` (the secret is stored nowhere).",
    tags: ["API keys"],
    auth: "account",
    body: CreateKeyBody,
    bodyOptional: true,
    // A replay shows the key without its secret, which is shown once and stored nowhere.
    idempotentAnswer: (answer) => ({ ...answer, api_key: { ...answer.api_key, key: null } }),
    responses: {
      201: { description: "Created", schema: z.object({ success: z.literal(true), api_key: NewApiKeySchema }) },
    },
    async handler({ env, auth, body }) {
      const { row, secret } = await newApiKey(auth.account.id, body.name);
      await insertApiKey(database(env), row);
      return ok({ api_key: { ...presentApiKey(row), key: secret } }, 201);
    },
  });

  api.route({
    method: "get",
    path: "/v1/keys",
    summary: "List API keys (never their secrets)",
    tags: ["API keys"],
    auth: "account",
    responses: {
      200: { description: "Keys, newest first", schema: z.object({ success: z.literal(true), api_keys: z.array(ApiKeySchema) }) },
    },
    async handler({ env, auth }) {
      const rows = await listKeys(database(env), auth.account.id);
      return ok({ api_keys: rows.map(presentApiKey) });
    },
  });

  api.route({
    method: "delete",
    path: "/v1/keys/{id}",
    summary: "Revoke an API key",
    tags: ["API keys"],
    auth: "account",
    params: IdParams,
    responses: { 200: { description: "Revoked", schema: z.object({ success: z.literal(true), api_key: ApiKeySchema }) } },
    async handler({ env, auth, params }) {
      const db = database(env);
      if (!(await findKey(db, auth.account.id, params.id))) throw notFound("API key");
      const row = await revokeKey(db, auth.account.id, params.id);
      return ok({ api_key: presentApiKey(row!) });
    },
  });
}
