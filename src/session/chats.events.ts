import type { BaileysEventMap, Chat, ChatUpdate, WASocket } from "baileys";
import { chatKeyOf, markIncomingRead, saveChatChanges, type ChatChange } from "../db/chats.repo";
import { toTimestamp } from "../domain/time";
import { emitEvent } from "../events/emit";
import { lidLookup, nameOf } from "./jid-numbers";
import type { SessionConfig } from "./session.types";

// Chat settings changed elsewhere (the phone or another device archived, pinned, muted, read or
// deleted a chat; history sync's conversations) → the chat's D1 row, one batch per event batch.
// Baileys turns app-state mutations into chats.update (Utils/chat-utils.js processSyncAction):
// archived; pinned = the action's time or null; muteEndTime = end (ms), -1 forever, null unmuted;
// unreadCount 0 = marked read. A clear has no event in Baileys (no clearChatAction branch).
// A chat WhatsApp names by LID is stored under the contact's number when Baileys knows it (as
// received messages name it: receive.ts), so its settings and its messages meet.

export async function onChatEvents(parts: { env: Env }, config: SessionConfig, events: Partial<BaileysEventMap>, socket: WASocket): Promise<void> {
  const keys = await chatKeys(socket, events);
  const changes: ChatChange[] = [];
  const read: string[] = [];
  const seen = (chat: Partial<Chat> | ChatUpdate, live = false) => {
    if (!chat.id || chat.id === "status@broadcast") return;
    const change = changeOf(chat, keys.get(chat.id)!, live);
    if (change) changes.push(change);
    if (live && chat.unreadCount === 0) read.push(keys.get(chat.id)!);
  };
  for (const chat of events["messaging-history.set"]?.chats ?? []) seen(chat);
  for (const chat of events["chats.upsert"] ?? []) seen(chat);
  for (const chat of events["chats.update"] ?? []) seen(withoutMessageUnarchive(chat), true);
  const at = toTimestamp(Date.now());
  for (const id of events["chats.delete"] ?? []) changes.push({ chatId: keys.get(id)!, archived: false, pinnedAt: null, clearedAt: at });
  await saveChatChanges(parts.env.DB, config.id, config.accountId, changes);
  for (const chat of read) await markIncomingRead(parts.env.DB, config.id, chat);
  // Live changes (not history) become chat.updated events, one per chat changed.
  for (const update of (events["chats.update"] ?? []).map(withoutMessageUnarchive)) {
    const data = update.id ? eventData(update, keys.get(update.id)!) : null;
    if (data) await emitEvent(parts.env, { accountId: config.accountId, sessionId: config.id, type: "chat.updated", data });
  }
}

/**
 * A received message's own chats.update (it carries the message's time) says `archived: false`
 * when the account lets new messages unarchive chats (Baileys process-message.js): storing that
 * would cost a D1 write per message, so it is left out (known gap: docs/protocol/app-state.md).
 */
function withoutMessageUnarchive(update: ChatUpdate): ChatUpdate {
  if (update.conversationTimestamp === undefined || update.archived !== false) return update;
  const { archived: _unarchived, ...rest } = update;
  return rest;
}

/** The chat.updated event's data: the chat and only what changed (docs/webhooks.md). */
function eventData(update: ChatUpdate, chat: string): Record<string, unknown> | null {
  if (update.id === "status@broadcast") return null;
  const change = changeOf(update, chat, true);
  const read = update.unreadCount === 0 ? { marked_read: true } : update.unreadCount === -1 ? { marked_read: false } : {};
  if (!change && !Object.keys(read).length) return null;
  const changes: Record<string, unknown> = { ...read };
  if (change?.archived !== undefined) changes.archived = change.archived;
  if (change?.pinnedAt !== undefined) Object.assign(changes, { pinned: change.pinnedAt !== null, pinned_at: change.pinnedAt });
  if (change?.muted !== undefined) Object.assign(changes, { muted: change.muted !== null, muted_until: change.muted?.until ?? null });
  if (change?.name !== undefined) changes.name = change.name;
  return { chat_id: chat, chat_type: chat.endsWith("@g.us") ? "group" : "contact", changes };
}

/** `live`: an app-state action, whose pin time is 0 when the action had none (Baileys' own patches). */
function changeOf(chat: Partial<Chat> | ChatUpdate, key: string, live: boolean): ChatChange | null {
  const change: ChatChange = { chatId: key };
  let any = false;
  if (typeof chat.name === "string" && chat.name) (change.name = chat.name), (any = true);
  if (typeof chat.archived === "boolean") (change.archived = chat.archived), (any = true);
  if (chat.pinned !== undefined) {
    const pin = chat.pinned === null ? 0 : Number(chat.pinned);
    change.pinnedAt = pin > 0 ? timeOf(pin) : live && chat.pinned !== null ? toTimestamp(Date.now()) : null;
    any = true;
  }
  if (chat.muteEndTime !== undefined) {
    const end = chat.muteEndTime === null ? null : Number(chat.muteEndTime);
    change.muted = end === null || end === 0 ? null : { until: end < 0 ? null : timeOf(end) };
    any = true;
  }
  return any ? change : null;
}

/** History sync stamps seconds, app-state actions milliseconds. */
const timeOf = (n: number): string => toTimestamp(n < 1e12 ? n * 1000 : n);

/** Each chat id of the batch → its stored key (a LID → its number when known). */
async function chatKeys(socket: WASocket, events: Partial<BaileysEventMap>): Promise<Map<string, string>> {
  const ids = [
    ...(events["messaging-history.set"]?.chats ?? []).map((c) => c.id),
    ...(events["chats.upsert"] ?? []).map((c) => c.id),
    ...(events["chats.update"] ?? []).map((c) => c.id),
    ...(events["chats.delete"] ?? []),
  ].filter((id): id is string => !!id);
  const keys = new Map<string, string>();
  const lookup = lidLookup(socket);
  for (const id of new Set(ids)) {
    if (!id.endsWith("@lid")) keys.set(id, chatKeyOf(id));
    else keys.set(id, (await nameOf(lookup, id)).number ?? chatKeyOf(id));
  }
  return keys;
}
