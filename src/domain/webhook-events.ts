// Webhook event names, the legacy `setWebhook` names, and webhook filters. Pure: no I/O.

export const WEBHOOK_EVENTS = [
  "message.received",
  "message.sent",
  "message.delivered",
  "message.read",
  "message.failed",
  "session.status",
  "session.qr",
  "group.joined",
  "group.left",
  "group.participants",
  "group.updated",
  "group.join_request",
  "presence.update",
  "chat.updated",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** Opt-in events: frequent and ephemeral, so a webhook gets them only by naming them (or "*"). */
export const OPT_IN_EVENTS: readonly WebhookEventType[] = ["presence.update"];
/** What a webhook that names no events receives: every event but the opt-in ones. */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEventType[] = WEBHOOK_EVENTS.filter((e) => !OPT_IN_EVENTS.includes(e));

/** Sent only by `POST /v1/whatsapp/webhooks/{id}/test`, to that one webhook. */
export const TEST_EVENT = "webhook.test";
export type EmittedEventType = WebhookEventType | typeof TEST_EVENT;

/**
 * Legacy `setWebhook` event names (open-wa style), matched case-insensitively, and
 * a wildcard. `onMessage` is what others send to us; `onAnyMessage` includes our own sends;
 * `onAck` is every status change of a message.
 */
const LEGACY_EVENTS: Record<string, readonly WebhookEventType[]> = {
  "*": WEBHOOK_EVENTS,
  all: WEBHOOK_EVENTS,
  onmessage: ["message.received"],
  onanymessage: ["message.received", "message.sent"],
  onack: ["message.sent", "message.delivered", "message.read", "message.failed"],
  onmessageack: ["message.sent", "message.delivered", "message.read", "message.failed"],
  onstatechanged: ["session.status"],
  onlogout: ["session.status"],
  onqr: ["session.qr"],
};

export const LEGACY_EVENT_NAMES = Object.keys(LEGACY_EVENTS);

export function isWebhookEvent(name: string): name is WebhookEventType {
  return (WEBHOOK_EVENTS as readonly string[]).includes(name);
}

/** Our names pass through; legacy names expand; anything else is reported as unknown. */
export function resolveEventNames(names: readonly string[]): { events: WebhookEventType[]; unknown: string[] } {
  const events = new Set<WebhookEventType>();
  const unknown: string[] = [];
  for (const raw of names) {
    const name = raw.trim();
    if (isWebhookEvent(name)) {
      events.add(name);
      continue;
    }
    const legacy = LEGACY_EVENTS[name.toLowerCase()];
    if (legacy) legacy.forEach((e) => events.add(e));
    else unknown.push(raw);
  }
  // Canonical order, so stored lists compare equal however they were given.
  return { events: WEBHOOK_EVENTS.filter((e) => events.has(e)), unknown };
}

// ---- Filters ----

export const CHAT_TYPES = ["contact", "group", "channel", "broadcast"] as const;
export type ChatType = (typeof CHAT_TYPES)[number];

export interface WebhookFilters {
  /** Only these chats (a JID like `14155552671@s.whatsapp.net`, `1203...@g.us`, or a phone number). */
  chat_ids?: string[];
  chat_types?: ChatType[];
  /** Message types as stored (`text`, `image`, `video`, `audio`, `document`, `location`, ...). */
  message_types?: string[];
  /** true: only our own messages; false: only others'; absent: both. */
  from_me?: boolean;
  /** Event categories (see SETTINGS_TYPES); never stored beside chat_ids, chat_types or message_types. */
  settings_types?: SettingsType[];
  /** Only messages that mention one of these phone numbers; "me" = messages that mention this session. */
  mentions?: string[];
}

/** What a message event is about, as far as filters care. */
export interface EventSubject {
  chatId: string | null;
  chatType: ChatType | null;
  messageType: string | null;
  fromMe: boolean | null;
}

/**
 * Message event `data` contract for producers (the session object). Every field the
 * filters read is here; anything else of the stored message may be added.
 */
export interface MessageEventData {
  /** messages.id */
  id: string;
  /** WhatsApp's message id. */
  provider_message_id?: string | null;
  /** The chat's JID; derived from from/to numbers when absent. */
  chat_id?: string | null;
  chat_type?: ChatType | null;
  from_me: boolean;
  type: string;
  /** The sender's number; null when WhatsApp told only its LID (never a LID). */
  from_number?: string | null;
  to_number?: string | null;
  /** The sender and a 1:1 chat by LID (`…@lid`), when WhatsApp told them. */
  from_lid?: string | null;
  chat_lid?: string | null;
  content?: string | null;
  status?: string;
  reason?: string | null;
  [key: string]: unknown;
}

export interface SessionStatusEventData {
  status: string;
  reason: string | null;
  phone_number?: string | null;
  /** When a temporary ban (402) ends; null unless the status is `banned` with a known expiry. */
  banned_until?: string | null;
  [key: string]: unknown;
}

export interface SessionQrEventData {
  /** The raw QR string (render it yourself, or fetch /qr-code). */
  qr: string;
  [key: string]: unknown;
}

// ---- Group events (src/session/group-events.ts produces them) ----
// Members are named by phone number; one known only by its LID goes to the matching `*_lid`
// field instead (a LID is never put where a number is expected).

interface GroupEventBase {
  /** sessions.id of the session the event concerns. */
  session_id: string;
  /** The group's id, `…@g.us`. */
  group_id: string;
  /** Who did it (phone number); null when the server did, or only `by_lid` is known. */
  by: string | null;
  by_lid?: string | null;
  [key: string]: unknown;
}

/** The session was added to a group, created one, or joined one. */
export interface GroupJoinedEventData extends GroupEventBase {
  name: string | null;
  description: string | null;
  owner: string | null;
  /** The owner's LID, only when its number is unknown. */
  owner_lid?: string | null;
  size: number | null;
}

/** The session was removed from a group (`removed`) or left it (`left`). */
export interface GroupLeftEventData extends GroupEventBase {
  reason: "removed" | "left";
}

export const GROUP_PARTICIPANT_ACTIONS = ["add", "remove", "promote", "demote"] as const;
export interface GroupParticipantsEventData extends GroupEventBase {
  action: (typeof GROUP_PARTICIPANT_ACTIONS)[number];
  participants: string[];
  /** Members whose number is unknown, by LID. */
  participants_lid: string[];
}

/** What changed; only the fields that changed are present. */
export interface GroupChanges {
  name?: string;
  description?: string | null;
  announce?: boolean;
  locked?: boolean;
  join_approval?: boolean;
  member_add_mode?: "admin_add" | "all_member_add";
  invite_link_reset?: boolean;
  photo?: "changed" | "removed";
}
export interface GroupUpdatedEventData extends GroupEventBase {
  changes: GroupChanges;
}

/** Someone asked to join (`created`), withdrew (`revoked`) or was refused (`rejected`), in a group the session administers. */
export interface GroupJoinRequestEventData extends GroupEventBase {
  participant: string | null;
  /** The asker's LID, only when its number is unknown. */
  participant_lid?: string | null;
  action: string | null;
  method: string | null;
}

// ---- Presence events (src/session/presence.events.ts produces them) ----

/** A contact's (or, in a group, a member's) presence or chat state changed. */
export interface PresenceUpdateEventData {
  session_id: string;
  /** The chat: the contact's `…@s.whatsapp.net` (its `…@lid` when only that is known), or the group id. */
  chat_id: string;
  /** Whose presence: a phone number, null when only `lid` is known. */
  phone_number: string | null;
  lid?: string | null;
  state: "available" | "unavailable" | "typing" | "recording" | "paused";
  /** When last online (ISO time), when WhatsApp says and the contact's privacy shows it. */
  last_seen: string | null;
  [key: string]: unknown;
}

/** `123:8@s.whatsapp.net` and `123@c.us` and `+1 (23)` all name the chat `123@s.whatsapp.net`. */
export function normalizeChatId(raw: string): string {
  const value = raw.trim().toLowerCase();
  const at = value.indexOf("@");
  if (at < 0) return `${value.replace(/\D/g, "")}@s.whatsapp.net`;
  let user = value.slice(0, at);
  let server = value.slice(at + 1);
  if (server === "c.us") server = "s.whatsapp.net";
  if (server === "s.whatsapp.net" || server === "lid") user = user.split(":")[0];
  return `${user}@${server}`;
}

export function isValidChatId(raw: string): boolean {
  const value = raw.trim();
  if (value.includes("@")) return /^[\w.:+-]+@[a-z0-9.-]+$/i.test(value);
  return /^\+?[\d\s().-]+$/.test(value) && value.replace(/\D/g, "").length >= 5;
}

export function chatTypeOf(chatId: string): ChatType {
  const id = chatId.toLowerCase();
  if (id.endsWith("@g.us")) return "group";
  if (id.endsWith("@newsletter")) return "channel";
  if (id.endsWith("@broadcast")) return "broadcast";
  return "contact";
}

function str(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

export function subjectOf(data: Record<string, unknown>): EventSubject {
  const fromMe =
    typeof data.from_me === "boolean"
      ? data.from_me
      : data.direction === "outgoing"
        ? true
        : data.direction === "incoming"
          ? false
          : null;
  const rawChat = str(data.chat_id) ?? (fromMe === true ? str(data.to_number) : fromMe === false ? str(data.from_number) : null);
  const chatId = rawChat ? normalizeChatId(rawChat) : null;
  const declaredType = str(data.chat_type);
  const chatType = (CHAT_TYPES as readonly string[]).includes(declaredType ?? "")
    ? (declaredType as ChatType)
    : chatId
      ? chatTypeOf(chatId)
      : null;
  return { chatId, chatType, messageType: str(data.type), fromMe };
}

export function isMessageEvent(type: string): boolean {
  return type.startsWith("message.");
}

// ---- Settings types and mentions ----

/** Event categories a webhook may ask for instead of chat and message filters. */
export const SETTINGS_TYPES = ["chats", "messages", "groups", "system"] as const;
export type SettingsType = (typeof SETTINGS_TYPES)[number];

/**
 * The categories of an event. `system` is logged out, connected and joined a group; `chats` is a
 * chat's settings changing (chat.updated: archive, pin, mute, read). Other session events (a dropped
 * connection, a QR) are in none, so a webhook with settings types does not get them.
 */
export function settingsTypesOf(type: string, data: Record<string, unknown>): SettingsType[] {
  if (isMessageEvent(type)) return ["messages"];
  if (type === "group.joined") return ["groups", "system"];
  if (type.startsWith("group.")) return ["groups"];
  if (type === "chat.updated") return ["chats"];
  if (type === "session.status" && (data.status === "connected" || data.reason === "logged_out")) return ["system"];
  return [];
}

/** A message event mentions: "me" (data.mentions_me), or a number in data.mentions. */
function mentionsMatch(wanted: readonly string[], data: Record<string, unknown>): boolean {
  const digits = (v: string) => v.replace(/\D/g, "");
  const mentioned = Array.isArray(data.mentions) ? data.mentions.filter((m): m is string => typeof m === "string").map(digits) : [];
  return wanted.some((w) => (w.trim().toLowerCase() === "me" ? data.mentions_me === true : mentioned.includes(digits(w))));
}

/**
 * Every filter that is set must match (one of its values); unset filters match
 * anything. `settings_types` applies to every event; the others concern messages, so other
 * events pass them. A message whose subject lacks what a set filter needs does not match it.
 */
export function matchesFilters(filters: WebhookFilters | null | undefined, type: string, data: Record<string, unknown>): boolean {
  if (!filters) return true;
  if (filters.settings_types?.length) {
    const wanted = filters.settings_types;
    if (!settingsTypesOf(type, data).some((t) => wanted.includes(t))) return false;
  }
  if (!isMessageEvent(type)) return true;
  if (filters.mentions?.length && !mentionsMatch(filters.mentions, data)) return false;
  const subject = subjectOf(data);
  if (filters.chat_ids?.length) {
    if (!subject.chatId || !filters.chat_ids.map(normalizeChatId).includes(subject.chatId)) return false;
  }
  if (filters.chat_types?.length) {
    if (!subject.chatType || !filters.chat_types.includes(subject.chatType)) return false;
  }
  if (filters.message_types?.length) {
    const wanted = filters.message_types.map((t) => t.toLowerCase());
    if (!subject.messageType || !wanted.includes(subject.messageType.toLowerCase())) return false;
  }
  if (typeof filters.from_me === "boolean") {
    if (subject.fromMe !== filters.from_me) return false;
  }
  return true;
}

export interface WebhookSubscription {
  enabled: boolean;
  whatsappSessionId: string | null;
  events: readonly string[];
  filters: WebhookFilters | null;
}

/** Whether a webhook wants this event: enabled, same session (if it names one), subscribed, filters pass. */
export function wantsEvent(
  hook: WebhookSubscription,
  event: { type: string; sessionId: string | null; data: Record<string, unknown> },
): boolean {
  if (!hook.enabled) return false;
  if (hook.whatsappSessionId && hook.whatsappSessionId !== event.sessionId) return false;
  if (!hook.events.includes(event.type)) return false;
  return matchesFilters(hook.filters, event.type, event.data);
}

/** The JSON body every delivery POSTs. */
export interface WebhookPayload<D = Record<string, unknown>> {
  /** Also the `webhook-id` header: stable across retries and replays. */
  id: string;
  type: EmittedEventType;
  created_at: string;
  account_id: string;
  session_id: string | null;
  data: D;
}

export function newEventId(): string {
  return `msg_${crypto.randomUUID().replace(/-/g, "")}`;
}
