import { ok } from "./http";
import { peopleCall } from "./people.call";
import { ChatIdParams, chatJidOf } from "./people.schemas";
import { ChatPresenceEnvelope, ChatStateBody, OwnPresenceBody, PresenceSentEnvelope } from "./presence.schemas";
import type { Api } from "./route";
import { ApiError } from "./errors";
import { SessionIdParams } from "./sessions.schemas";
import type { ChatPresence, PresenceSent } from "../session/presence.types";
import { WHATSAPP_ERRORS, errorSpec } from "./people.responses";

// A session's presence: typing/recording/paused in a chat, its own online state, and subscribing
// to a contact's presence (changes arrive as `presence.update` webhooks). Each asks the session's
// object, which sends the stanza (session/presence.ts); WhatsApp answers none of them.

const COMMON = WHATSAPP_ERRORS;
const tags = ["Presence"];
const sent = { description: "Sent to WhatsApp", schema: PresenceSentEnvelope };

export function registerPresenceRoutes(api: Api): void {
  api.route({
    method: "post",
    path: "/v1/whatsapp/sessions/{id}/chats/{chat_id}/presence",
    summary: "Show typing, recording or paused in a chat",
    description: "What the other side sees under the chat's name. In a group, every member sees it. The `status: typing|recording` of other APIs' send body maps here.",
    tags,
    auth: "account",
    idempotency: "refused", // Ephemeral and harmless to repeat.
    params: ChatIdParams,
    body: ChatStateBody,
    responses: { 200: sent, ...COMMON },
    async handler({ env, auth, params, body }) {
      const chat = chatJidOf(params.chat_id);
      return ok(await peopleCall<PresenceSent>(env, auth, params.id, { area: "presence", op: "chatstate", chat, state: body.state }));
    },
  });

  api.route({
    method: "put",
    path: "/v1/whatsapp/sessions/{id}/presence",
    summary: "Set the session's own presence (online or offline)",
    description:
      "Sessions connect offline (a linked device shown online keeps the phone from getting notifications). `available` shows the account online, and lets presence subscriptions deliver, until `unavailable` (offline, last seen now) or a reconnect.",
    tags,
    auth: "account",
    params: SessionIdParams,
    body: OwnPresenceBody,
    responses: { 200: sent, ...COMMON, 409: errorSpec("The session is not connected (`session_not_connected`), or has no profile name yet (`no_push_name`).") },
    async handler({ env, auth, params, body }) {
      return ok(await peopleCall<PresenceSent>(env, auth, params.id, { area: "presence", op: "set", state: body.state }));
    },
  });

  api.route({
    method: "post",
    path: "/v1/whatsapp/sessions/{id}/presence/{chat_id}/subscribe",
    summary: "Subscribe to a contact's presence",
    description:
      "WhatsApp answers with the contact's current presence and sends each change (online, offline with last seen) while the session stays connected; each arrives as a `presence.update` webhook (an opt-in event: name it in the webhook's `events`). WhatsApp sends presence only to a session that shows online: sessions connect offline, so `PUT …/presence` `available` first. Subscribe again after a reconnect. Chat states (typing, recording) arrive without a subscription.",
    tags,
    auth: "account",
    idempotency: "refused", // Subscribing twice is subscribing once.
    params: ChatIdParams,
    responses: { 200: sent, ...COMMON, 422: errorSpec("The chat is a group: presence is subscribed to per person (`invalid_chat`).") },
    async handler({ env, auth, params }) {
      const chat = chatJidOf(params.chat_id);
      if (chat.endsWith("@g.us")) throw new ApiError(422, "invalid_chat", "Presence is per person: subscribe to a phone number or a LID, not a group.");
      return ok(await peopleCall<PresenceSent>(env, auth, params.id, { area: "presence", op: "subscribe", chat }));
    },
  });

  api.route({
    method: "get",
    path: "/v1/whatsapp/sessions/{id}/presence/{chat_id}",
    summary: "The last presence the session heard in a chat",
    description:
      "What the session heard last, per person (as `presence.update` webhooks tell it, whether or not a webhook asks for them), with when it was heard (`at`). Kept in the session object's memory only, never stored: lost when the object restarts, and not refreshed while disconnected (after a reconnect, subscribe again).",
    tags,
    auth: "account",
    params: ChatIdParams,
    responses: { 200: { description: "The last presence known", schema: ChatPresenceEnvelope }, ...COMMON },
    async handler({ env, auth, params }) {
      return ok(await peopleCall<ChatPresence>(env, auth, params.id, { area: "presence", op: "get", chat: chatJidOf(params.chat_id) }));
    },
  });
}
