import { z } from "zod";
import { database } from "../db/client";
import { findMessage } from "../db/messages.query";
import { notFound } from "./errors";
import { ok } from "./http";
import { messagesPage, revokeMessage } from "./messages.actions";
import { sendBatch, sendOne } from "./messages.send";
import { BatchBody, BatchResponse, ListMessagesQuery, ListMessagesResponse, MessageSchema, SendMessageBody, SendResponse } from "./messages.schemas";
import { presentMessage } from "./presenters";
import type { Api } from "./route";
import { IdParams } from "./schemas";

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
    fastAccept: true,
    responses: { 201: { description: "Queued (or scheduled)", schema: SendResponse }, ...sendErrors },
    handler: ({ env, auth, body, idempotency }) => sendOne(env, auth, body, idempotency),
  });

  api.route({
    method: "post",
    path: "/v1/whatsapp/messages/batch",
    summary: "Send many messages; a result per item",
    description:
      "Each item is a POST /v1/whatsapp/messages body, validated on its own: `OK` with the message id(s), or `REJECTED` with " +
      "reasons naming the field (`messages.N.field`). The accepted items are charged together: if the balance or the daily " +
      "limit does not cover all of them, the request fails with 402 or 429 and nothing is stored.",
    tags,
    auth: "account",
    body: BatchBody,
    idempotency: "handler", // stored in the accepting D1 transaction
    fastAccept: true,
    responses: { 200: { description: "Per-item results", schema: BatchResponse }, ...sendErrors },
    handler: ({ env, auth, body, idempotency }) => sendBatch(env, auth, body.messages, idempotency),
  });

  api.route({
    method: "get",
    path: "/v1/whatsapp/messages",
    summary: "List all messages (newest first, cursor pagination)",
    description:
      "Filters: filter[to_number][], filter[from_number], filter[status], filter[direction], filter[type], filter[campaign_id], " +
      "session_id, time_from, time_to. Pass `meta.next_cursor` as `cursor` for the next page; null means the last page.",
    tags,
    auth: "account",
    query: ListMessagesQuery,
    responses: { 200: { description: "A page of messages", schema: ListMessagesResponse } },
    handler: async ({ env, auth, query }) => ok(await messagesPage(env, auth.account.id, query)),
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
    handler: async ({ env, auth, query, params }) => ok(await messagesPage(env, auth.account.id, query, params.session_id)),
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
    summary: "Delete a sent message for everyone (revoke)",
    tags,
    auth: "account",
    params: IdParams,
    responses: {
      200: { description: "Revoked", schema: z.object({ success: z.literal(true), message: z.string(), data: MessageSchema }) },
      409: { description: "Not revocable (`message_not_revocable`: incoming, not sent yet, failed) or the session is not connected." },
    },
    async handler({ env, auth, params }) {
      return ok({ message: "Message deleted for everyone", data: await revokeMessage(env, auth.account.id, params.id) });
    },
  });
}
