import { z } from "zod";
import { database } from "../db/client";
import { findMessage, listMessages, markMessageRevoked, type MessageFilters, type MessageRow } from "../db/messages.repo";
import { findSession } from "../db/sessions.repo";
import { normalizePhone } from "../domain/phone";
import { now, toTimestamp } from "../domain/time";
import { registerCampaignRoutes } from "./campaigns.routes";
import { conflict, notFound, unprocessable, type ErrorDetail } from "./errors";
import { decodeCursor, encodeCursor } from "../domain/cursor";
import { ok } from "./http";
import { callObject } from "./object-call";
import { idempotencyContext, replayIdempotent } from "./idempotency";
import { commitSends, errorReasons, prepareSend, type PreparedSend } from "./messages.accept";
import type { MediaProbe } from "./media-fetch";
import {
  BatchBody,
  BatchResponse,
  ListMessagesQuery,
  ListMessagesResponse,
  MessageSchema,
  SendMessageBody,
  SendResponse,
  type ListMessagesQueryT,
} from "./messages.schemas";
import type { Api } from "./route";
import { IdParams } from "./schemas";

export function presentMessage(row: MessageRow) {
  return {
    id: row.id,
    whatsapp_session_id: row.whatsappSessionId,
    campaign_id: row.campaignId,
    otp_id: row.otpId,
    provider_message_id: row.providerMessageId,
    from_number: row.fromNumber,
    to_number: row.toNumber,
    type: row.type,
    content: row.content,
    media_url: row.mediaUrl,
    status: row.status,
    direction: row.direction,
    reason: row.reason,
    cost: row.cost,
    payload: row.payload,
    metadata: row.metadata,
    callback_url: row.callbackUrl,
    callback_data: row.callbackData,
    scheduled_at: row.scheduledAt,
    sent_at: row.sentAt,
    delivered_at: row.deliveredAt,
    read_at: row.readAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

const REVOCABLE = new Set(["sent", "delivered", "read"]);
// Media downloads run a few at a time for a batch.
const BATCH_CONCURRENCY = 6;

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

async function listFilters(env: Env, accountId: string, query: ListMessagesQueryT, sessionParam?: string): Promise<MessageFilters> {
  const issues: ErrorDetail[] = [];
  const phone = (value: string, field: string) => {
    const n = normalizePhone(value);
    if (!n) issues.push({ field, in: "query", message: "Not a valid phone number in international format." });
    return n ?? "";
  };
  const f = query.filter ?? {};
  const to = f.to_number === undefined ? undefined : Array.isArray(f.to_number) ? f.to_number : [f.to_number];
  const filters: MessageFilters = {
    toNumbers: to?.map((n, i) => phone(n, `filter.to_number.${i}`)),
    fromNumber: f.from_number ? phone(f.from_number, "filter.from_number") : undefined,
    status: f.status,
    direction: f.direction,
    type: f.type,
    campaignId: f.campaign_id,
    timeFrom: query.time_from ? toTimestamp(Date.parse(query.time_from)) : undefined,
    timeTo: query.time_to ? toTimestamp(Date.parse(query.time_to)) : undefined,
  };
  if (issues.length) throw unprocessable(issues);
  const sessionRef = sessionParam ?? query.session_id;
  if (sessionRef) {
    const session = await findSession(database(env), accountId, sessionRef);
    if (!session) throw notFound("Session");
    filters.sessionUuid = session.id;
  }
  return filters;
}

async function listResponse(env: Env, accountId: string, query: ListMessagesQueryT, sessionParam?: string): Promise<Response> {
  const filters = await listFilters(env, accountId, query, sessionParam);
  const cursor = query.cursor ? decodeCursor(query.cursor) : null;
  if (query.cursor && !cursor) throw unprocessable([{ field: "cursor", in: "query", message: "Not a cursor returned by this API." }]);
  const { rows, next } = await listMessages(database(env), accountId, filters, { limit: query.limit, cursor });
  return ok({ data: rows.map(presentMessage), meta: { count: rows.length, limit: query.limit, next_cursor: next ? encodeCursor(next) : null } });
}

export function registerMessageRoutes(api: Api): void {
  const tags = ["Messages"];
  const sendErrors = {
    402: { description: "The balance does not cover the messages (`insufficient_balance`); nothing is stored." },
    409: { description: "The session is not connected (`session_not_connected`)." },
    413: { description: "The media is larger than its type allows (`media_too_large`)." },
    429: { description: "The plan's daily message limit would be passed (`daily_limit_reached`, with Retry-After)." },
    503: { description: "The send queue refused the messages; they are failed and refunded (`queue_unavailable`)." },
  };

  api.route({
    method: "post",
    path: "/v1/whatsapp/messages",
    summary: "Send a new message (one row per recipient, one campaign)",
    description:
      "Types: text, image, video, audio (ptt for a voice note), document, location, contacts, sticker, poll, reaction. " +
      "media_url is fetched at accept time and checked against the type's size and format limits (422 `unsupported_media_type`, " +
      "`media_unreachable`; 413 `media_too_large`). Send `Idempotency-Key` to make retries safe.",
    tags,
    auth: "account",
    body: SendMessageBody,
    idempotency: "handler", // stored in the accepting D1 transaction
    responses: { 201: { description: "Queued (or scheduled)", schema: SendResponse }, ...sendErrors },
    async handler({ env, auth, body, request, url }) {
      const idem = await idempotencyContext(request, url, body);
      if (idem) {
        const replay = await replayIdempotent(database(env), auth.account.id, idem);
        if (replay) return replay;
      }
      const send = await prepareSend(env, auth.account, body, idem?.key ?? null);
      return commitSends(env, auth.account, [send], idem, (balance, remaining) => ({
        status: 201,
        body: {
          success: true,
          message: "Message queued for sending",
          data: {
            messages: send.rows.map(presentMessage),
            count: send.rows.length,
            total_cost: Math.round(send.rows.reduce((s, r) => s + r.cost, 0) * 1e6) / 1e6,
            new_balance: balance,
            remaining_messages: remaining,
            campaign_id: send.campaign.id,
          },
        },
      }));
    },
  });

  api.route({
    method: "post",
    path: "/v1/whatsapp/messages/batch",
    summary: "Send many messages; a result per item (seed 003)",
    description:
      "Each item is a POST /v1/whatsapp/messages body, validated on its own: `OK` with the message id(s), or `REJECTED` with " +
      "reasons naming the field (`messages.N.field`). The accepted items are charged together: if the balance or the daily " +
      "limit does not cover all of them, the request fails with 402 or 429 and nothing is stored.",
    tags,
    auth: "account",
    body: BatchBody,
    idempotency: "handler", // stored in the accepting D1 transaction
    responses: { 200: { description: "Per-item results", schema: BatchResponse }, ...sendErrors },
    async handler({ env, auth, body, request, url }) {
      const idem = await idempotencyContext(request, url, body);
      if (idem) {
        const replay = await replayIdempotent(database(env), auth.account.id, idem);
        if (replay) return replay;
      }
      const media = new Map<string, Promise<MediaProbe>>();
      const outcomes = await mapLimited(body.messages, BATCH_CONCURRENCY, async (item, index) => {
        const prefix = `messages.${index}.`;
        const parsed = SendMessageBody.safeParse(item);
        if (!parsed.success) {
          return { index, reasons: parsed.error.issues.map((i) => ({ field: prefix + i.path.map(String).join("."), code: i.code, message: i.message })) };
        }
        try {
          return { index, send: await prepareSend(env, auth.account, parsed.data, idem?.key ?? null, media) };
        } catch (error) {
          return { index, reasons: errorReasons(error, prefix) };
        }
      });
      const sends = outcomes.flatMap((o) => (o.send ? [o.send] : []));
      const count = sends.reduce((n, s) => n + s.rows.length, 0);
      return commitSends(env, auth.account, sends, idem, (balance, remaining) => ({
        status: 200,
        body: {
          success: true,
          data: {
            results: outcomes.map((o) => (o.send ? okResult(o.index, o.send) : { index: o.index, status: "REJECTED", reasons: o.reasons })),
            accepted: sends.length,
            rejected: outcomes.length - sends.length,
            count,
            total_cost: Math.round(sends.reduce((s, x) => s + x.rows.reduce((t, r) => t + r.cost, 0), 0) * 1e6) / 1e6,
            new_balance: balance,
            remaining_messages: remaining,
          },
        },
      }));
    },
  });

  api.route({
    method: "get",
    path: "/v1/whatsapp/messages",
    summary: "List all messages (newest first, cursor pagination)",
    description: "Filters of seed 000. Pass `meta.next_cursor` as `cursor` for the next page; null means the last page.",
    tags,
    auth: "account",
    query: ListMessagesQuery,
    responses: { 200: { description: "A page of messages", schema: ListMessagesResponse } },
    handler: ({ env, auth, query }) => listResponse(env, auth.account.id, query),
  });

  api.route({
    method: "get",
    path: "/v1/whatsapp/messages/{session_id}/session",
    summary: "List messages of a session (same filters)",
    tags,
    auth: "account",
    params: z.object({ session_id: z.string().min(1).max(100).meta({ description: "uuid or session_id string" }) }),
    query: ListMessagesQuery,
    responses: { 200: { description: "A page of messages", schema: ListMessagesResponse } },
    handler: ({ env, auth, query, params }) => listResponse(env, auth.account.id, query, params.session_id),
  });

  api.route({
    method: "get",
    path: "/v1/whatsapp/messages/{id}",
    summary: "Display a specified message",
    tags,
    auth: "account",
    params: IdParams,
    responses: { 200: { description: "The message", schema: z.object({ success: z.literal(true), data: MessageSchema }) } },
    async handler({ env, auth, params }) {
      const row = await findMessage(database(env), auth.account.id, params.id);
      if (!row) throw notFound("Message");
      return ok({ data: presentMessage(row) });
    },
  });

  api.route({
    method: "delete",
    path: "/v1/whatsapp/messages/{id}",
    summary: "Delete a sent message for everyone (revoke, seed 004)",
    tags,
    auth: "account",
    params: IdParams,
    responses: {
      200: { description: "Revoked", schema: z.object({ success: z.literal(true), message: z.string(), data: MessageSchema }) },
      409: { description: "Not revocable (`message_not_revocable`: incoming, not sent yet, failed) or the session is not connected." },
    },
    async handler({ env, auth, params }) {
      const db = database(env);
      const row = await findMessage(db, auth.account.id, params.id);
      if (!row) throw notFound("Message");
      if (row.metadata?.revoked_at) return ok({ message: "Message deleted for everyone", data: presentMessage(row) });
      if (row.direction !== "outgoing" || !REVOCABLE.has(row.status) || !row.providerMessageId) {
        throw conflict("message_not_revocable", `Only sent outgoing messages can be deleted for everyone; this one is ${row.direction} and ${row.status}.`, {
          status: row.status,
          direction: row.direction,
        });
      }
      const session = await findSession(db, auth.account.id, row.whatsappSessionId);
      if (session?.status !== "connected") {
        throw conflict("session_not_connected", `The session is ${session?.status ?? "deleted"}; it must be connected to delete a message.`);
      }
      const stub = env.SESSION.get(env.SESSION.idFromName(session.id));
      await callObject(() => stub.revoke(row.toNumber, row.providerMessageId!), { 409: "session_not_connected" });
      const updated = (await markMessageRevoked(db, row.id, now())) ?? row;
      return ok({ message: "Message deleted for everyone", data: presentMessage(updated) });
    },
  });

  registerCampaignRoutes(api);
}

function okResult(index: number, send: PreparedSend) {
  return { index, status: "OK", id: send.rows[0].id, message_ids: send.rows.map((r) => r.id), campaign_id: send.campaign.id };
}
