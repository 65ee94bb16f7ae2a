import { z } from "zod";
import { database } from "../db/client";
import { deleteWebhooks, listWebhooks } from "../db/webhooks.repo";
import { emitTestEvent } from "../events/emit";
import { conflict, notFound } from "./errors";
import { ok } from "./http";
import { presentDelivery, presentWebhook } from "./presenters";
import type { Api } from "./route";
import { createWebhook, deliveriesPage, loadWebhook, patchWebhook, replayDelivery } from "./webhooks.actions";
import {
  CreateWebhookBody,
  DeleteWebhooksBody,
  DeliveriesQuery,
  DeliveryParams,
  DeliverySchema,
  NewWebhookSchema,
  UpdateWebhookBody,
  WebhookIdParams,
  WebhookSchema,
} from "./webhooks.schemas";

const WebhookEnvelope = z.object({ success: z.literal(true), webhook: WebhookSchema });

/** A URL as webhooks are stored (checkWebhookUrl keeps `new URL(…).toString()`); unparsable ones match nothing. */
function normalizedUrl(raw: string): string {
  return URL.canParse(raw.trim()) ? new URL(raw.trim()).toString() : raw;
}

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
    async handler({ env, auth, body, idempotency }) {
      return createWebhook(env, auth.account.id, body, idempotency);
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
    method: "delete",
    path: "/v1/whatsapp/webhooks",
    summary: "Delete the account's webhooks: all of them, or those with the URL given in the body",
    description:
      "Without a body, every webhook of the account goes; with `{\"url\": …}`, only the webhooks with that URL (404 when none). " +
      "Their delivery logs go too, and their queued deliveries are dropped.",
    tags,
    auth: "account",
    body: DeleteWebhooksBody,
    bodyOptional: true,
    responses: {
      200: { description: "Deleted; `deleted` is how many", schema: z.object({ success: z.literal(true), deleted: z.number().int(), message: z.string() }) },
      404: { description: "A `url` was given and no webhook of the account has it" },
    },
    async handler({ env, auth, body }) {
      const url = body.url === undefined ? undefined : normalizedUrl(body.url);
      const deleted = await deleteWebhooks(database(env), auth.account.id, { url });
      if (url !== undefined && deleted === 0) throw notFound("Webhook");
      return ok({ deleted, message: `${deleted} webhook(s) deleted` });
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
      return ok({ webhook: await patchWebhook(env, auth.account.id, params.id, body) });
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
      await deleteWebhooks(db, auth.account.id, { id: params.id });
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
      return ok(await deliveriesPage(env, auth.account.id, params.id, query));
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
      return ok({ delivery: await replayDelivery(env, auth.account.id, params.id, params.delivery_id) }, 202);
    },
  });

}
