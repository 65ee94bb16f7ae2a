import { ok } from "./http";
import type { Api } from "./route";
import { changeChat, chatMessagesPage, chatsPage, readChat } from "./chats.actions";
import { ChatEnvelope, ChatMessagesEnvelope, ChatsEnvelope, ListChatsQuery, MuteBody, PageQuery, ReadBody, ReadEnvelope } from "./chats.schemas";
import { ChatIdParams } from "./people.schemas";
import { SessionIdParams } from "./sessions.schemas";
import { SESSION_NOT_FOUND, WHATSAPP_ERRORS, errorSpec } from "./people.responses";

// A session's chats: lists read the gateway's store; settings go to WhatsApp as app-state patches
// and read marks as receipts (chats.actions.ts → session/chats.ts).

const NOT_FOUND = SESSION_NOT_FOUND;
const LIVE = WHATSAPP_ERRORS;
const base = "/v1/whatsapp/sessions/{id}/chats";
const tags = ["Chats"];
const chat = { 200: { description: "The chat as it is now", schema: ChatEnvelope } };

interface SettingRoute {
  method: "post" | "delete";
  path: string;
  summary: string;
  change: { op: "archive"; archived: boolean } | { op: "pin"; pinned: boolean } | { op: "mute"; muted: false; until: null } | { op: "clear" };
}

const SETTINGS: SettingRoute[] = [
  { method: "post", path: "archive", summary: "Archive a chat", change: { op: "archive", archived: true } },
  { method: "delete", path: "archive", summary: "Unarchive a chat", change: { op: "archive", archived: false } },
  { method: "post", path: "pin", summary: "Pin a chat", change: { op: "pin", pinned: true } },
  { method: "delete", path: "pin", summary: "Unpin a chat", change: { op: "pin", pinned: false } },
  { method: "delete", path: "mute", summary: "Unmute a chat", change: { op: "mute", muted: false, until: null } },
  { method: "delete", path: "messages", summary: "Clear a chat's history (older messages are hidden here and on the phone)", change: { op: "clear" } },
];

export function registerChatRoutes(api: Api): void {
  api.route({
    method: "get",
    path: base,
    summary: "List the session's chats (pinned first, then most recent activity first; cursor pagination)",
    tags,
    auth: "account",
    params: SessionIdParams,
    query: ListChatsQuery,
    responses: { 200: { description: "A page of chats", schema: ChatsEnvelope }, ...NOT_FOUND },
    handler: async ({ env, auth, params, query }) => ok(await chatsPage(env, auth, params.id, query)),
  });

  api.route({
    method: "get",
    path: `${base}/{chat_id}/messages`,
    summary: "A chat's messages, both directions (newest first, cursor pagination)",
    tags,
    auth: "account",
    params: ChatIdParams,
    query: PageQuery,
    responses: { 200: { description: "A page of messages", schema: ChatMessagesEnvelope }, ...NOT_FOUND },
    handler: async ({ env, auth, params, query }) => ok(await chatMessagesPage(env, auth, params.id, params.chat_id, query)),
  });

  for (const s of SETTINGS) {
    api.route({
      method: s.method,
      path: `${base}/{chat_id}/${s.path}`,
      summary: s.summary,
      tags,
      auth: "account",
      params: ChatIdParams,
      responses: { ...chat, ...LIVE },
      handler: async ({ env, auth, params }) => ok({ data: await changeChat(env, auth, params.id, params.chat_id, s.change) }),
    });
  }

  api.route({
    method: "post",
    path: `${base}/{chat_id}/mute`,
    summary: "Mute a chat (until a time, or forever)",
    tags,
    auth: "account",
    params: ChatIdParams,
    body: MuteBody.meta({ example: { until: "2030-01-15T18:00:00Z" } }),
    bodyOptional: true,
    responses: { ...chat, ...LIVE, 422: errorSpec("Invalid fields (`until` not a future ISO time).") },
    async handler({ env, auth, params, body }) {
      const until = body?.until ? Date.parse(body.until) : null;
      return ok({ data: await changeChat(env, auth, params.id, params.chat_id, { op: "mute", muted: true, until }) });
    },
  });

  api.route({
    method: "post",
    path: `${base}/{chat_id}/read`,
    summary: "Mark received messages of a chat read (or a voice note played)",
    description: "Sends WhatsApp's read receipts (`played` for voice notes) for the given received messages, or every unread one of the chat, and marks them read here (`unread_count` drops).",
    tags,
    auth: "account",
    params: ChatIdParams,
    body: ReadBody.meta({ example: { status: "read" } }),
    bodyOptional: true,
    responses: { 200: { description: "How many messages were marked", schema: ReadEnvelope }, ...LIVE, 422: errorSpec("Invalid fields, or a message id that is not a received message of this chat (or, for `played`, not an audio message).") },
    async handler({ env, auth, params, body }) {
      return ok({ data: await readChat(env, auth, params.id, params.chat_id, body?.message_ids, body?.status ?? "read") });
    },
  });
}
