// What the webhook routes do below their handlers: create (with its Idempotency-Key answer in
// the same transaction), update, a page of the deliveries log, and a delivery's replay.
import type { z } from "zod";
import { database, type Db } from "../db/client";
import { findSession } from "../db/sessions.repo";
import {
  findWebhook,
  findWebhookDelivery,
  insertWebhook,
  insertWebhookWithAnswer,
  listAttempts,
  listDeliveries,
  newWebhookRow,
  resetForReplay,
  updateWebhook,
  type AttemptRow,
  type WebhookPatch,
  type WebhookRow,
} from "../db/webhooks.repo";
import { decodeCursor, encodeCursor, type Cursor } from "../domain/cursor";
import { DEFAULT_WEBHOOK_EVENTS, resolveEventNames, type WebhookFilters } from "../domain/webhook-events";
import { normalizePhone } from "../domain/phone";
import { patchHeaders, unmaskHeaders } from "../domain/webhook-headers";
import { checkWebhookUrl, privateHostsAllowed } from "../domain/webhook-url";
import { resendDeliveries } from "../events/emit";
import { conflict, notFound, unprocessable } from "./errors";
import { writeOrReplay, type IdempotencyContext } from "./idempotency";
import { presentDelivery, presentWebhook } from "./presenters";
import type { CreateWebhookBody, DeliveriesQuery, UpdateWebhookBody } from "./webhooks.schemas";

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
  if (filters.settings_types?.length) out.settings_types = [...new Set(filters.settings_types)];
  // Numbers as digits, so matching compares like with like.
  if (filters.mentions?.length) out.mentions = [...new Set(filters.mentions.map((m) => (m.toLowerCase() === "me" ? "me" : (normalizePhone(m) ?? m))))];
  return Object.keys(out).length ? out : null;
}

export async function loadWebhook(db: Db, accountId: string, id: string): Promise<WebhookRow> {
  const row = await findWebhook(db, accountId, id);
  if (!row) throw notFound("Webhook");
  return row;
}

/**
 * Creates the webhook; the answer shows its secret and header values once. With an
 * Idempotency-Key the stored answer (same transaction) has no secret and masked headers: a
 * retry with the key gets the webhook with `secret: null`.
 */
export async function createWebhook(env: Env, accountId: string, body: z.output<typeof CreateWebhookBody>, idem: IdempotencyContext | null): Promise<Response> {
  const db = database(env);
  const row = newWebhookRow({
    accountId,
    url: checkedUrl(env, body.url),
    events: body.events ? resolveEventNames(body.events).events : [...DEFAULT_WEBHOOK_EVENTS],
    whatsappSessionId: await sessionUuid(db, accountId, body.whatsapp_session_id),
    headers: body.headers && Object.keys(body.headers).length ? unmaskHeaders(body.headers, null) : null,
    filters: cleanFilters(body.filters),
    enabled: body.enabled,
  });
  const answer = { success: true, webhook: { ...presentWebhook(row), headers: row.headers ?? {}, secret: row.secret } };
  if (!idem) {
    await insertWebhook(db, row);
    return Response.json(answer, { status: 201 });
  }
  const stored = JSON.stringify({ ...answer, webhook: { ...presentWebhook(row), secret: null } });
  return writeOrReplay(db, accountId, idem, async () => {
    await insertWebhookWithAnswer(db, row, idem, stored);
    return Response.json(answer, { status: 201 });
  });
}

/** Fields given replace the stored ones; a new origin drops the custom headers unless given again. */
export async function patchWebhook(env: Env, accountId: string, id: string, body: z.output<typeof UpdateWebhookBody>) {
  const db = database(env);
  const current = await loadWebhook(db, accountId, id);
  const patch: WebhookPatch = {};
  if (body.url !== undefined) patch.url = checkedUrl(env, body.url);
  if (body.events !== undefined) patch.events = resolveEventNames(body.events).events;
  if (body.whatsapp_session_id !== undefined) patch.whatsappSessionId = await sessionUuid(db, accountId, body.whatsapp_session_id);
  const originChanged = patch.url !== undefined && new URL(patch.url).origin !== new URL(current.url).origin;
  const headers = patchHeaders(body.headers, current.headers, originChanged);
  if (headers !== undefined) patch.headers = headers;
  if (body.filters !== undefined) patch.filters = cleanFilters(body.filters) as Record<string, unknown> | null;
  if (body.enabled !== undefined) patch.enabled = body.enabled;
  const row = await updateWebhook(db, accountId, id, patch);
  if (!row) throw notFound("Webhook");
  return presentWebhook(row);
}

/** A page of the deliveries log, newest first, each delivery with its attempts. */
export async function deliveriesPage(env: Env, accountId: string, webhookId: string, query: z.output<typeof DeliveriesQuery>) {
  const db = database(env);
  await loadWebhook(db, accountId, webhookId);
  const cursor = query.cursor ? parseCursor(query.cursor) : null;
  const rows = await listDeliveries(db, accountId, webhookId, { limit: query.limit + 1, cursor, status: query.status });
  const page = rows.slice(0, query.limit);
  const attempts = await listAttempts(db, page.map((r) => r.id));
  const byDelivery = new Map<string, AttemptRow[]>();
  for (const a of attempts) byDelivery.set(a.deliveryId, [...(byDelivery.get(a.deliveryId) ?? []), a]);
  return {
    deliveries: page.map((r) => presentDelivery(r, byDelivery.get(r.id) ?? [])),
    next_cursor: rows.length > query.limit ? encodeCursor(page[page.length - 1]) : null,
  };
}

/** Queues a delivery again (same event id and payload); 409 while the webhook is disabled. */
export async function replayDelivery(env: Env, accountId: string, webhookId: string, deliveryId: string) {
  const db = database(env);
  const hook = await loadWebhook(db, accountId, webhookId);
  const delivery = await findWebhookDelivery(db, accountId, hook.id, deliveryId);
  if (!delivery) throw notFound("Delivery");
  if (!hook.enabled) throw conflict("webhook_disabled", "The webhook is disabled; enable it to replay deliveries.");
  const reset = (await resetForReplay(db, delivery.id)) ?? delivery;
  await resendDeliveries(env, [reset]);
  return presentDelivery(reset, await listAttempts(db, [reset.id]));
}
