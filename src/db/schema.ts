import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// Timestamps are ISO 8601 strings with six fractional digits (as the API shows them), which sort as text.

export const accounts = sqliteTable("accounts", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  plan: text("plan").notNull().default("free"),
  balance: real("balance").notNull().default(0),
  messageCost: real("message_cost").notNull().default(10),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    name: text("name").notNull(),
    // Visible start of the key so users can tell keys apart; the secret is only hashed.
    prefix: text("prefix").notNull(),
    hash: text("hash").notNull(),
    lastUsedAt: text("last_used_at"),
    revokedAt: text("revoked_at"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [uniqueIndex("api_keys_hash_idx").on(t.hash), index("api_keys_account_idx").on(t.accountId, t.createdAt)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    sessionId: text("session_id").notNull(),
    name: text("name"),
    phoneNumber: text("phone_number"),
    displayName: text("display_name"),
    status: text("status", { enum: ["pending", "connected", "disconnected", "banned", "failed"] })
      .notNull()
      .default("pending"),
    reason: text("reason"),
    // A temporary ban's end (login failure 402 with `expire`), ISO; null when not temporarily banned.
    bannedUntil: text("banned_until"),
    // Linked to the account's sandbox WhatsApp instead of the real service.
    sandbox: integer("sandbox", { mode: "boolean" }).notNull().default(false),
    connectionMode: text("connection_mode", { enum: ["persistent", "on_demand"] })
      .notNull()
      .default("persistent"),
    // Connection tuning (idle timeout, wake interval, ...), JSON.
    settings: text("settings", { mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    lastSeenAt: text("last_seen_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("sessions_session_id_idx").on(t.sessionId),
    index("sessions_account_idx").on(t.accountId, t.createdAt),
  ],
);

export const campaigns = sqliteTable(
  "campaigns",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    whatsappSessionId: text("whatsapp_session_id").notNull(),
    type: text("type").notNull(),
    total: integer("total").notNull(),
    delayBetween: integer("delay_between").notNull().default(500),
    scheduledAt: text("scheduled_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("campaigns_account_idx").on(t.accountId, t.createdAt)],
);

export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    // No foreign key: a deleted session's messages stay readable.
    whatsappSessionId: text("whatsapp_session_id").notNull(),
    campaignId: text("campaign_id"),
    otpId: text("otp_id"),
    providerMessageId: text("provider_message_id"),
    fromNumber: text("from_number"),
    toNumber: text("to_number").notNull(),
    type: text("type").notNull(),
    content: text("content"),
    mediaUrl: text("media_url"),
    // Type-specific fields (location, contacts, poll, reaction, reply_to, mentions, filename, ptt, ...).
    payload: text("payload", { mode: "json" }).$type<Record<string, unknown>>(),
    status: text("status", { enum: ["queued", "sent", "delivered", "read", "failed", "scheduled"] }).notNull(),
    direction: text("direction", { enum: ["incoming", "outgoing"] }).notNull(),
    reason: text("reason"),
    cost: real("cost").notNull().default(0),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>(),
    idempotencyKey: text("idempotency_key"),
    callbackUrl: text("callback_url"),
    callbackData: text("callback_data"),
    scheduledAt: text("scheduled_at"),
    sentAt: text("sent_at"),
    deliveredAt: text("delivered_at"),
    readAt: text("read_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    // A received message's sender and chat by LID (`…@lid`), when WhatsApp addressed them so (migration 0005).
    fromLid: text("from_lid"),
    chatLid: text("chat_lid"),
    // The chat as the chat routes name it (a number's digits, or a group id): outgoing rows name it in
    // to_number, incoming ones in payload.chat_id. VIRTUAL, so the send and receive paths write
    // nothing more; the chat indexes below are what GET …/chats reads (db/chats.repo.ts).
    chatKey: text("chat_key").generatedAlwaysAs(
      sql`CASE WHEN \`direction\` = 'outgoing' THEN \`to_number\` WHEN json_valid(\`payload\`) THEN replace(json_extract(\`payload\`, '$.chat_id'), '@s.whatsapp.net', '') END`,
      { mode: "virtual" },
    ),
  },
  (t) => [
    // The listing is always per account, newest first; each list filter of GET /v1/whatsapp/messages has an index.
    index("messages_account_created_idx").on(t.accountId, t.createdAt, t.id),
    index("messages_account_session_idx").on(t.accountId, t.whatsappSessionId, t.createdAt),
    index("messages_account_status_idx").on(t.accountId, t.status, t.createdAt),
    index("messages_account_to_idx").on(t.accountId, t.toNumber, t.createdAt),
    index("messages_account_from_idx").on(t.accountId, t.fromNumber, t.createdAt),
    index("messages_account_direction_idx").on(t.accountId, t.direction, t.createdAt),
    index("messages_account_type_idx").on(t.accountId, t.type, t.createdAt),
    index("messages_campaign_idx").on(t.campaignId, t.status),
    index("messages_provider_idx").on(t.whatsappSessionId, t.providerMessageId),
    // Chats: each chat's messages, and only the unread received ones (they leave it when marked read).
    index("messages_session_chat_idx").on(t.whatsappSessionId, t.chatKey, t.createdAt),
    index("messages_session_unread_idx")
      .on(t.whatsappSessionId, t.chatKey, t.createdAt)
      .where(sql`direction = 'incoming' AND read_at IS NULL`),
    // Recovery: accepted, unsent messages by session (the outbox adopts them from D1).
    index("messages_pending_idx").on(t.status, t.whatsappSessionId, t.createdAt),
    // Recovery: scheduled messages by session and due time (the sweep finds the overdue ones).
    index("messages_scheduled_idx").on(t.status, t.whatsappSessionId, t.scheduledAt),
  ],
);

// Each recipient's delivery and read of an outgoing message (a group message has one row per
// participant that answered), written by the session object's status flush. No foreign key: a
// receipt may be flushed before its message's `sent`, and reads always go through the message.
// `participant`: the member's number (digits), or "<user>@lid" when only their LID is known.
export const messageReceipts = sqliteTable(
  "message_receipts",
  {
    messageId: text("message_id").notNull(),
    participant: text("participant").notNull(),
    deliveredAt: text("delivered_at"),
    readAt: text("read_at"),
  },
  (t) => [primaryKey({ columns: [t.messageId, t.participant] })],
);

// A creating POST repeated with the same Idempotency-Key returns the first answer.
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    key: text("key").notNull(),
    method: text("method").notNull(),
    path: text("path").notNull(),
    requestHash: text("request_hash").notNull(),
    statusCode: integer("status_code").notNull(),
    response: text("response").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.key] })],
);

export const webhooks = sqliteTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    whatsappSessionId: text("whatsapp_session_id"),
    url: text("url").notNull(),
    events: text("events", { mode: "json" }).$type<string[]>().notNull(),
    // Signing secret (whsec_...): kept because every delivery must be signed with it.
    secret: text("secret").notNull(),
    headers: text("headers", { mode: "json" }).$type<Record<string, string>>(),
    filters: text("filters", { mode: "json" }).$type<Record<string, unknown>>(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("webhooks_account_idx").on(t.accountId, t.createdAt)],
);

export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    // Null for per-message callback_url deliveries.
    webhookId: text("webhook_id"),
    url: text("url").notNull(),
    // Stable per event: the `webhook-id` header receivers deduplicate on.
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    payload: text("payload").notNull(),
    status: text("status", { enum: ["pending", "delivered", "failed", "dead"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    // Bumped by every replay or sweep that sends a new queue message: only the message of the
    // current generation may attempt the delivery, older ones are acked as superseded.
    generation: integer("generation").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    nextAttemptAt: text("next_attempt_at"),
    deliveredAt: text("delivered_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("webhook_deliveries_webhook_idx").on(t.webhookId, t.createdAt),
    index("webhook_deliveries_account_idx").on(t.accountId, t.createdAt),
    // The recovery sweep: deliveries still owed, by due time.
    index("webhook_deliveries_due_idx").on(t.status, t.nextAttemptAt),
  ],
);

export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: text("id").primaryKey(),
    deliveryId: text("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id),
    attempt: integer("attempt").notNull(),
    statusCode: integer("status_code"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("webhook_attempts_delivery_idx").on(t.deliveryId, t.attempt)],
);

// Messages accepted per account per UTC day, for the plan's daily limit.
export const dailyUsage = sqliteTable(
  "daily_usage",
  {
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    day: text("day").notNull(),
    messages: integer("messages").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.day] })],
);

// The people a session knows (issue 13): from the phone's address book (app state), history sync,
// push names on incoming messages and contact checks. One row per number, or per LID while its
// number is unknown (`contact_key`: the number's digits, else "<user>@lid"). Null fields: not known.
export const contacts = sqliteTable(
  "contacts",
  {
    sessionId: text("session_id").notNull(),
    contactKey: text("contact_key").notNull(),
    phoneNumber: text("phone_number"),
    lid: text("lid"),
    name: text("name"),
    pushName: text("push_name"),
    verifiedName: text("verified_name"),
    business: integer("business", { mode: "boolean" }),
    updatedAt: text("updated_at").notNull(),
  },
  // By LID: a LID-only row is folded into its number's row once the number is known (contacts.repo.ts).
  (t) => [primaryKey({ columns: [t.sessionId, t.contactKey] }), index("contacts_session_lid_idx").on(t.sessionId, t.lid)],
);

// A chat's state on the account (issue 13): archived, pinned, muted, cleared, its name; written when
// app state reports a change or a chat route makes one. Last message and unread count are not
// stored: the listing reads them from `messages` (its VIRTUAL `chat_key` column, migration 0005).
// `chat_id`: the number's digits, or the group id (…@g.us). Times are ISO; `muted_until` null
// while `muted` means muted forever.
export const chats = sqliteTable(
  "chats",
  {
    sessionId: text("session_id").notNull(),
    chatId: text("chat_id").notNull(),
    accountId: text("account_id").notNull(),
    name: text("name"),
    archived: integer("archived", { mode: "boolean" }).notNull().default(false),
    pinnedAt: text("pinned_at"),
    muted: integer("muted", { mode: "boolean" }).notNull().default(false),
    mutedUntil: text("muted_until"),
    clearedAt: text("cleared_at"),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.chatId] })],
);
