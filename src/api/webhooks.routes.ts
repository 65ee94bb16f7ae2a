import { z } from "zod";
import { database, type Db } from "../db/client";
import { idempotencyKeys, webhooks } from "../db/schema";
import { findSession } from "../db/sessions.repo";
import {
  deleteWebhook,
  findWebhook,
  findWebhookDelivery,
  insertWebhook,
  listAttempts,
  listDeliveries,
  listWebhooks,
  newWebhookRow,
  resetForReplay,
  updateWebhook,
  type AttemptRow,
  type DeliveryRow,
  type WebhookPatch,
  type WebhookRow,
} from "../db/webhooks.repo";
import { WEBHOOK_EVENTS, resolveEventNames, type WebhookFilters } from "../domain/webhook-events";
import { checkWebhookUrl, privateHostsAllowed } from "../domain/webhook-url";
import { emitTestEvent, resendDeliveries } from "../events/emit";
import { conflict, notFound, unprocessable } from "./errors";
import { maskHeaders, patchHeaders, unmaskHeaders } from "./webhook-headers";
import { idempotencyContext, replayIdempotent } from "./idempotency";
import { decodeCursor, encodeCursor, type Cursor } from "../domain/cursor";
import { ok } from "./http";
import type { Api } from "./route";
import {
  CreateWebhookBody,
  DeliveriesQuery,
  DeliveryParams,
  DeliverySchema,
  NewWebhookSchema,
  UpdateWebhookBody,
  WebhookIdParams,
  WebhookSchema,
} from "./webhooks.schemas";

/** Never includes the secret; header values masked (the creation response alone shows them). */
export function presentWebhook(row: WebhookRow) {
  const filters = (row.filters ?? {}) as WebhookFilters;
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    whatsapp_session_id: row.whatsappSessionId,
    headers: maskHeaders(row.headers),
    filters: {
      ...(filters.chat_ids ? { chat_ids: filters.chat_ids } : {}),
      ...(filters.chat_types ? { chat_types: filters.chat_types } : {}),
      ...(filters.message_types ? { message_types: filters.message_types } : {}),
      ...(typeof filters.from_me === "boolean" ? { from_me: filters.from_me } : {}),
    },
    enabled: row.enabled,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export function presentDelivery(row: DeliveryRow, attempts: AttemptRow[]) {
  return {
    id: row.id,
    webhook_id: row.webhookId,
    event_id: row.eventId,
    event_type: row.eventType,
    url: row.url,
    status: row.status,
    attempts: row.attempts,
    last_status_code: row.lastStatusCode,
    last_error: row.lastError,
    next_attempt_at: row.nextAttemptAt,
    delivered_at: row.deliveredAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    attempt_log: attempts.map((a) => ({
      attempt: a.attempt,
      status_code: a.statusCode,
      error: a.error,
      duration_ms: a.durationMs,
      created_at: a.createdAt,
    })),
  };
}

function parseCursor(raw: string): Cursor {
  const cursor = decodeCursor(raw);
  if (!cursor) throw unprocessable([{ field: "cursor", in: "query", message: "Not a cursor this API returned." }]);
  return cursor;
}

function checkedUrl(env: Env, raw: string): string {
  const check = checkWebhookUrl(raw, { allowPrivate: privateHostsAllowed(env) });
  if (!check.ok) throw unprocessable([{ field: "url", in: "body", code: "invalid_url", message: check.message }]);
  return check.url;
}

async function sessionUuid(db: Db, accountId: string, idOrSessionId: string | null | undefined): Promise<string | null> {
  if (!idOrSessionId) return null;
  const session = await findSession(db, accountId, idOrSessionId);
  if (!session) throw unprocessable([{ field: "whatsapp_session_id", in: "body", message: "No such session in this account." }]);
  return session.id;
}

function cleanFilters(filters: WebhookFilters | null | undefined): WebhookFilters | null {
  if (!filters) return null;
  const out: WebhookFilters = {};
  if (filters.chat_ids?.length) out.chat_ids = filters.chat_ids;
  if (filters.chat_types?.length) out.chat_types = [...new Set(filters.chat_types)];
  if (filters.message_types?.length) out.message_types = [...new Set(filters.message_types.map((t) => t.toLowerCase()))];
  if (typeof filters.from_me === "boolean") out.from_me = filters.from_me;
  return Object.keys(out).length ? out : null;
}

async function loadWebhook(db: Db, accountId: string, id: string): Promise<WebhookRow> {
  const row = await findWebhook(db, accountId, id);
  if (!row) throw notFound("Webhook");
  return row;
}

const WebhookEnvelope = z.object({ success: z.literal(true), webhook: WebhookSchema });

export function registerWebhookRoutes(api: Api): void {
  const tags = ["Webhooks"];

  api.route({
    method: "post",
    path: "/v1/whatsapp/webhooks",
    summary: "Create a webhook (its signing secret is shown once; Idempotency-Key supported)",
    description:
      "Deliveries are POSTed as JSON `{id, type, created_at, account_id, session_id, data}` and signed per Standard Webhooks " +
      "(`webhook-id`, `webhook-timestamp`, `webhook-signature`); verify with any Standard Webhooks library and the `secret`.",
    tags,
    auth: "account",
    body: CreateWebhookBody,
    idempotency: "handler", // stored in the accepting D1 transaction
    responses: { 201: { description: "Created", schema: z.object({ success: z.literal(true), webhook: NewWebhookSchema }) } },
    async handler({ env, auth, body, request, url }) {
      const db = database(env);
      const idem = await idempotencyContext(request, url, body);
      if (idem) {
        const replay = await replayIdempotent(db, auth.account.id, idem);
        if (replay) return replay;
      }
      const row = newWebhookRow({
        accountId: auth.account.id,
        url: checkedUrl(env, body.url),
        events: body.events ? resolveEventNames(body.events).events : [...WEBHOOK_EVENTS],
        whatsappSessionId: await sessionUuid(db, auth.account.id, body.whatsapp_session_id),
        headers: body.headers && Object.keys(body.headers).length ? unmaskHeaders(body.headers, null) : null,
        filters: cleanFilters(body.filters),
        enabled: body.enabled,
      });
      const answer = { success: true, webhook: { ...presentWebhook(row), headers: row.headers ?? {}, secret: row.secret } };
      if (!idem) {
        await insertWebhook(db, row);
      } else {
        // One transaction: the webhook and the stored answer. The stored answer has no secret
        // (secrets are shown once and kept nowhere else) and masked headers; a retry with the
        // same key gets the webhook with `secret: null`. A concurrent twin loses on the key's primary key.
        try {
          await db.batch([
            db.insert(idempotencyKeys).values({
              accountId: auth.account.id,
              key: idem.key,
              method: idem.method,
              path: idem.path,
              requestHash: idem.requestHash,
              statusCode: 201,
              response: JSON.stringify({ ...answer, webhook: { ...presentWebhook(row), secret: null } }),
              createdAt: row.createdAt,
            }),
            db.insert(webhooks).values(row),
          ]);
        } catch (error) {
          const replay = await replayIdempotent(db, auth.account.id, idem);
          if (replay) return replay;
          throw error;
        }
      }
      return Response.json(answer, { status: 201 });
    },
  });

  api.route({
    method: "get",
    path: "/v1/whatsapp/webhooks",
    summary: "List webhooks (never their secrets)",
    tags,
    auth: "account",
    responses: { 200: { description: "Webhooks, newest first", schema: z.object({ success: z.literal(true), webhooks: z.array(WebhookSchema) }) } },
    async handler({ env, auth }) {
      const rows = await listWebhooks(database(env), auth.account.id);
      return ok({ webhooks: rows.map(presentWebhook) });
    },
  });

  api.route({
    method: "get",
    path: "/v1/whatsapp/webhooks/{id}",
    summary: "Display a webhook",
    tags,
    auth: "account",
    params: WebhookIdParams,
    responses: { 200: { description: "The webhook", schema: WebhookEnvelope } },
    async handler({ env, auth, params }) {
      return ok({ webhook: presentWebhook(await loadWebhook(database(env), auth.account.id, params.id)) });
    },
  });

  api.route({
    method: "patch",
    path: "/v1/whatsapp/webhooks/{id}",
    summary: "Update a webhook (fields given replace the stored ones)",
    tags,
    auth: "account",
    params: WebhookIdParams,
    body: UpdateWebhookBody,
    responses: { 200: { description: "Updated", schema: WebhookEnvelope } },
    async handler({ env, auth, params, body }) {
      const db = database(env);
      const current = await loadWebhook(db, auth.account.id, params.id);
      const patch: WebhookPatch = {};
      if (body.url !== undefined) patch.url = checkedUrl(env, body.url);
      if (body.events !== undefined) patch.events = resolveEventNames(body.events).events;
      if (body.whatsapp_session_id !== undefined) patch.whatsappSessionId = await sessionUuid(db, auth.account.id, body.whatsapp_session_id);
      const originChanged = patch.url !== undefined && new URL(patch.url).origin !== new URL(current.url).origin;
      const headers = patchHeaders(body.headers, current.headers, originChanged);
      if (headers !== undefined) patch.headers = headers;
      if (body.filters !== undefined) patch.filters = cleanFilters(body.filters) as Record<string, unknown> | null;
      if (body.enabled !== undefined) patch.enabled = body.enabled;
      const row = await updateWebhook(db, auth.account.id, params.id, patch);
      if (!row) throw notFound("Webhook");
      return ok({ webhook: presentWebhook(row) });
    },
  });

  api.route({
    method: "delete",
    path: "/v1/whatsapp/webhooks/{id}",
    summary: "Delete a webhook with its deliveries log (queued deliveries are dropped)",
    tags,
    auth: "account",
    params: WebhookIdParams,
    responses: { 200: { description: "Deleted", schema: z.object({ success: z.literal(true), message: z.string() }) } },
    async handler({ env, auth, params }) {
      const db = database(env);
      await loadWebhook(db, auth.account.id, params.id);
      await deleteWebhook(db, auth.account.id, params.id);
      return ok({ message: "Webhook deleted" });
    },
  });

  api.route({
    method: "post",
    path: "/v1/whatsapp/webhooks/{id}/test",
    summary: "Send a test event (`webhook.test`) through the normal delivery queue",
    tags,
    auth: "account",
    idempotency: "refused", // The answer is the outcome of this one test delivery; a replay would report a stale one.
    params: WebhookIdParams,
    responses: {
      202: { description: "Queued; follow it in /deliveries", schema: z.object({ success: z.literal(true), event_id: z.string(), delivery: DeliverySchema }) },
      409: { description: "The webhook is disabled" },
    },
    async handler({ env, auth, params }) {
      const hook = await loadWebhook(database(env), auth.account.id, params.id);
      if (!hook.enabled) throw conflict("webhook_disabled", "The webhook is disabled; enable it to test it.");
      const { eventId, delivery } = await emitTestEvent(env, hook);
      return ok({ event_id: eventId, delivery: presentDelivery(delivery, []) }, 202);
    },
  });

  api.route({
    method: "get",
    path: "/v1/whatsapp/webhooks/{id}/deliveries",
    summary: "The deliveries log: newest first, each with its attempts",
    tags,
    auth: "account",
    params: WebhookIdParams,
    query: DeliveriesQuery,
    responses: {
      200: {
        description: "A page of deliveries; pass `next_cursor` as `cursor` for the next",
        schema: z.object({ success: z.literal(true), deliveries: z.array(DeliverySchema), next_cursor: z.string().nullable() }),
      },
    },
    async handler({ env, auth, params, query }) {
      const db = database(env);
      await loadWebhook(db, auth.account.id, params.id);
      const cursor = query.cursor ? parseCursor(query.cursor) : null;
      const rows = await listDeliveries(db, auth.account.id, params.id, { limit: query.limit + 1, cursor, status: query.status });
      const page = rows.slice(0, query.limit);
      const attempts = await listAttempts(db, page.map((r) => r.id));
      const byDelivery = new Map<string, AttemptRow[]>();
      for (const a of attempts) byDelivery.set(a.deliveryId, [...(byDelivery.get(a.deliveryId) ?? []), a]);
      return ok({
        deliveries: page.map((r) => presentDelivery(r, byDelivery.get(r.id) ?? [])),
        next_cursor: rows.length > query.limit ? encodeCursor(page[page.length - 1]) : null,
      });
    },
  });

  api.route({
    method: "post",
    path: "/v1/whatsapp/webhooks/{id}/deliveries/{delivery_id}/replay",
    summary: "Send a delivery again (same event id and payload, freshly signed)",
    tags,
    auth: "account",
    idempotency: "refused", // Re-queues a delivery: events are at-least-once with a stable webhook-id, so a repeat is harmless.
    params: DeliveryParams,
    responses: {
      202: { description: "Queued again", schema: z.object({ success: z.literal(true), delivery: DeliverySchema }) },
      409: { description: "The webhook is disabled" },
    },
    async handler({ env, auth, params }) {
      const db = database(env);
      const hook = await loadWebhook(db, auth.account.id, params.id);
      const delivery = await findWebhookDelivery(db, auth.account.id, hook.id, params.delivery_id);
      if (!delivery) throw notFound("Delivery");
      if (!hook.enabled) throw conflict("webhook_disabled", "The webhook is disabled; enable it to replay deliveries.");
      const reset = (await resetForReplay(db, delivery.id)) ?? delivery;
      await resendDeliveries(env, [reset]);
      const attempts = await listAttempts(db, [reset.id]);
      return ok({ delivery: presentDelivery(reset, attempts) }, 202);
    },
  });

}
