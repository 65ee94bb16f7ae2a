import { migrate, type Migration, type VersionRow } from "../platform/sql";

// Every table the session object keeps, in ordered steps (append new steps; never edit one that
// has shipped). Step 1 of each list is the schema as it was created before this module existed
// (all IF NOT EXISTS), so older objects pass through it unchanged.
//
// Two lists, each with its version row:
// - the object's tables, run in the constructor before anything else touches SQL, and again
//   after `destroy()` empties the storage (`schema_version`, see platform/sql.ts migrate);
// - Baileys' creds and keys, run when the auth state is opened: only a started session holds
//   keys, so an object that was never started, or was destroyed, has no auth tables at all. Their
//   version row lives in `wa_auth_meta`, and keys written by a newer build are refused, not misread.

const MIGRATIONS: readonly Migration[] = [
  [
    // Config and state of the object (JSON values by key).
    "CREATE TABLE IF NOT EXISTS session_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT INTO session_meta (key, value) VALUES ('schema_version', '1') ON CONFLICT(key) DO NOTHING",
    // The alarm's task table.
    "CREATE TABLE IF NOT EXISTS schedule (kind TEXT PRIMARY KEY, due_at INTEGER NOT NULL)",
    // Messages waiting to be sent, and finished ids kept to recognise redeliveries.
    `CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      message_id TEXT NOT NULL UNIQUE,
      wa_id TEXT NOT NULL,
      item TEXT NOT NULL,
      state TEXT NOT NULL DEFAULT 'pending',
      attempts INTEGER NOT NULL DEFAULT 0,
      due_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    )`,
    "CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    // The SSE events kept for Last-Event-ID replay.
    "CREATE TABLE IF NOT EXISTS stream_events (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, data TEXT NOT NULL, created_at INTEGER NOT NULL)",
    // The auto-reply bot's settings, and when it answered in each chat (for its chat limits).
    "CREATE TABLE IF NOT EXISTS bot_settings (id INTEGER PRIMARY KEY CHECK (id = 1), settings TEXT NOT NULL, updated_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bot_replies (chat TEXT NOT NULL, at INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS bot_replies_chat ON bot_replies (chat, at)",
    "CREATE INDEX IF NOT EXISTS bot_replies_at ON bot_replies (at)",
    // Whether a number is on WhatsApp, cached.
    "CREATE TABLE IF NOT EXISTS contacts (phone TEXT PRIMARY KEY, on_whatsapp INTEGER NOT NULL, checked_at INTEGER NOT NULL)",
    // Incoming media messages, kept so their media can be downloaded later through the API.
    "CREATE TABLE IF NOT EXISTS inbound_media (message_id TEXT PRIMARY KEY, wa_message TEXT NOT NULL, created_at INTEGER NOT NULL)",
  ],
  // The object's version now lives in `schema_version`; the older row in session_meta goes.
  ["DELETE FROM session_meta WHERE key = 'schema_version'"],
  // The content of each sent message, served to Baileys' getMessage when a recipient asks for
  // a resend (sent-store.ts); kept as long as WhatsApp may ask.
  [
    "CREATE TABLE IF NOT EXISTS sent_messages (wa_id TEXT PRIMARY KEY, chat_jid TEXT NOT NULL, content TEXT NOT NULL, created_at INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sent_messages_created ON sent_messages (created_at)",
  ],
  // When the server acked an outbox entry (epoch ms): recorded before D1 is written, so a D1
  // failure retries the write, never the send (outbox.ts markAcked).
  ["ALTER TABLE outbox ADD COLUMN acked_at INTEGER"],
  // Status changes (ack, receipts) kept until D1 has them (status-journal.ts), the outbox
  // found by WhatsApp id when a receipt comes, and the highest status journaled per message
  // (a repeated or lower receipt is dropped, even after its flush).
  [
    `CREATE TABLE IF NOT EXISTS status_journal (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      message_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      wa_id TEXT NOT NULL,
      at TEXT NOT NULL,
      chat TEXT NOT NULL,
      msg_type TEXT NOT NULL,
      UNIQUE (message_id, kind)
    )`,
    "CREATE INDEX IF NOT EXISTS outbox_wa_id ON outbox (wa_id)",
    "ALTER TABLE outbox ADD COLUMN status_kind TEXT",
  ],
  // Each group participant's delivery/read of a sent message, kept until D1 has it
  // (status-journal.ts, flushed with the statuses; db/messages.receipts.ts), then a week
  // marked flushed, so another device's repeat of it is not written again.
  [
    `CREATE TABLE IF NOT EXISTS receipt_journal (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      message_id TEXT NOT NULL,
      participant TEXT NOT NULL,
      kind TEXT NOT NULL,
      at TEXT NOT NULL,
      flushed INTEGER NOT NULL DEFAULT 0,
      UNIQUE (message_id, participant, kind)
    )`,
    "CREATE INDEX IF NOT EXISTS receipt_journal_flushed ON receipt_journal (flushed, at)",
  ],
  // Group events (group-journal.ts), kept from the notification's handling until D1 has their
  // deliveries: a failed emit keeps its row for the next flush.
  [
    `CREATE TABLE IF NOT EXISTS group_event_journal (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      event_id TEXT NOT NULL UNIQUE,
      type TEXT NOT NULL,
      data TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`,
  ],
  // The next due entries without scanning the done ones kept for a week (outbox.ts takeReady).
  ["CREATE INDEX IF NOT EXISTS outbox_due ON outbox (due_at, seq) WHERE state != 'done'"],
];

const AUTH_MIGRATIONS: readonly Migration[] = [
  [
    "CREATE TABLE IF NOT EXISTS wa_auth_creds (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS wa_auth_keys (type TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (type, id)) WITHOUT ROWID",
  ],
];

/** The version the auth tables are at once migrateAuthSchema ran. */
export const AUTH_SCHEMA_VERSION = AUTH_MIGRATIONS.length;

/** Brings the object's tables to the current schema; returns the version. Idempotent. */
export function migrateSessionSchema(storage: DurableObjectStorage): number {
  return migrate(storage.sql, MIGRATIONS, { transaction: (fn) => storage.transactionSync(fn) });
}

// The auth version row predates `schema_version`: it stays where existing objects keep it.
const AUTH_VERSION_ROW: VersionRow = {
  read(sql) {
    sql.run("CREATE TABLE IF NOT EXISTS wa_auth_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const row = sql.one<{ value: string }>("SELECT value FROM wa_auth_meta WHERE key = 'schema_version'");
    return row ? Number(row.value) : 0;
  },
  write(sql, version) {
    sql.run("INSERT INTO wa_auth_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", String(version));
  },
};

/** Brings the auth tables to the current schema, in one transaction; refuses a newer version. Idempotent. */
export function migrateAuthSchema(storage: DurableObjectStorage): void {
  migrate(storage.sql, AUTH_MIGRATIONS, { version: AUTH_VERSION_ROW, transaction: (fn) => storage.transactionSync(fn) });
}
