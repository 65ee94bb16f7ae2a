import type { z } from "zod";
import type { AuthContext } from "./auth";
import { chatKeyOf, listChatMessages, listChats, markIncomingRead, unreadIncoming, type ChatRow } from "../db/chats.repo";
import { decodeCursor, encodeCursor } from "../domain/cursor";
import { now } from "../domain/time";
import { sessionStub } from "../platform/bindings";
import type { ChatOp } from "../session/chats.types";
import type { PeopleAnswer } from "../session/people.types";
import type { ListChatsQuery, PageQuery } from "./chats.schemas";
import { notFound, unprocessable } from "./errors";
import { callObject } from "./object-call";
import { chatJidOf } from "./people.schemas";
import { peopleCall, peopleError } from "./people.call";
import { presentMessage } from "./presenters";
import { loadSession } from "./session-lookup";

// The work under the chat routes. Lists read D1 only (one batch after auth); changes go through the
// session's object (app-state patches, receipts) and answer the chat as D1 then has it.

const cursorOf = (raw: string | undefined) => {
  const c = raw ? decodeCursor(raw) : null;
  if (raw && !c) throw unprocessable([{ field: "cursor", in: "query", message: "Not a cursor returned by this API." }]);
  return c;
};

export async function chatsPage(env: Env, auth: AuthContext, sessionParam: string, query: z.output<typeof ListChatsQuery>) {
  const c = cursorOf(query.cursor);
  const archived = query.archived === undefined ? undefined : query.archived === "true";
  const page = await listChats(env.DB, auth.account.id, sessionParam, { archived, type: query.type }, { limit: query.limit, cursor: c ? { at: c.createdAt, id: c.id } : null });
  if (!page) throw notFound("Session");
  return { data: page.rows.map(presentChat), meta: { count: page.rows.length, limit: query.limit, next_cursor: page.next ? encodeCursor({ createdAt: page.next.at, id: page.next.id }) : null } };
}

export async function chatMessagesPage(env: Env, auth: AuthContext, sessionParam: string, chatId: string, query: z.output<typeof PageQuery>) {
  const cursor = cursorOf(query.cursor);
  const page = await listChatMessages(env.DB, auth.account.id, sessionParam, chatKeyOf(chatJidOf(chatId)), { limit: query.limit, cursor });
  if (!page) throw notFound("Session");
  return { data: page.rows.map(presentMessage), meta: { count: page.rows.length, limit: query.limit, next_cursor: page.next ? encodeCursor(page.next) : null } };
}

type Change = { op: "archive"; archived: boolean } | { op: "pin"; pinned: boolean } | { op: "mute"; muted: boolean; until: number | null } | { op: "clear" };

/** Applies a chat setting on WhatsApp (the session stores it), then answers the chat. */
export async function changeChat(env: Env, auth: AuthContext, sessionParam: string, chatId: string, change: Change) {
  const chat = chatJidOf(chatId);
  await peopleCall(env, auth, sessionParam, { area: "chats", chat, ...change } as ChatOp);
  const page = await listChats(env.DB, auth.account.id, sessionParam, { chatId: chatKeyOf(chat) }, { limit: 1, cursor: null });
  const row = page?.rows[0];
  if (!row) throw notFound("Chat");
  return presentChat(row);
}

/** Sends read (or played) receipts for received messages of the chat, then marks them read in D1. */
export async function readChat(env: Env, auth: AuthContext, sessionParam: string, chatId: string, ids: string[] | undefined, status: "read" | "played") {
  const session = await loadSession(env, auth.account.id, sessionParam);
  const chat = chatJidOf(chatId);
  const key = chatKeyOf(chat);
  const found = await unreadIncoming(env.DB, session.id, key, ids);
  if (ids && found.length !== new Set(ids).size) {
    const known = new Set(found.map((r) => r.id));
    const missing = ids.findIndex((id) => !known.has(id));
    throw unprocessable([{ field: `message_ids.${missing}`, in: "body", message: "Not a received message of this chat." }]);
  }
  // WhatsApp's `played` is for audio (voice notes) only; other messages are read, never played.
  const notAudio = status === "played" && ids ? found.find((r) => r.type !== "audio") : undefined;
  if (notAudio) throw unprocessable([{ field: `message_ids.${ids!.indexOf(notAudio.id)}`, in: "body", message: "Not an audio message: only audio is marked played." }]);
  const rows = status === "played" ? found.filter((r) => r.type === "audio") : found;
  if (rows.length) {
    const group = chat.endsWith("@g.us");
    const messages = rows.map((r) => ({ id: r.providerMessageId!, ...(group ? { participant: participantOf(r.fromNumber, r.payload) } : {}) }));
    // A chat WhatsApp addressed by LID gets its receipts there, as the messages came (chat_lid).
    const lid = group ? null : rows.find((r) => r.chatLid)?.chatLid;
    const to = lid ? (lid.includes("@") ? lid : `${lid}@lid`) : chat;
    const stub = sessionStub(env, session.id);
    const answer = await callObject(async () => (await stub.people({ area: "chats", op: "read", chat: to, messages, status })) as PeopleAnswer, { 409: "session_not_connected" });
    if (!answer.ok) throw peopleError(answer.failure);
    await markIncomingRead(env.DB, session.id, key, rows.map((r) => r.id));
  }
  return { chat_id: key, status, marked: rows.length };
}

/** A group message's sender as WhatsApp addresses it: their number, else their LID. */
function participantOf(from: string | null, payload: Record<string, unknown> | null): string {
  if (from) return `${from}@s.whatsapp.net`;
  const lid = payload?.author_lid;
  return typeof lid === "string" ? (lid.includes("@") ? lid : `${lid}@lid`) : "";
}

export function presentChat(r: ChatRow) {
  return {
    chat_id: r.chat_id,
    type: r.chat_id.endsWith("@g.us") ? ("group" as const) : ("individual" as const),
    name: r.name,
    last_message:
      r.message_id && r.at && r.direction
        ? { id: r.message_id, type: r.message_type ?? "text", direction: r.direction, preview: r.content, at: r.at }
        : null,
    unread_count: r.unread ?? 0,
    archived: !!r.archived,
    pinned: !!r.pinned_at,
    pinned_at: r.pinned_at,
    // A mute whose end passed is over (WhatsApp sends no patch when it ends).
    muted: !!r.muted && (!r.muted_until || r.muted_until > now()),
    muted_until: r.muted && r.muted_until && r.muted_until > now() ? r.muted_until : null,
    cleared_at: r.cleared_at,
  };
}
