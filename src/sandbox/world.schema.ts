import { type MigrateOptions, type Migration, type Sql, type SqlExec, addColumn, migrate } from "../platform/sql";
import { stanzaKey } from "./offline.queue";

// The sandbox object's SQLite schema, as ordered steps: `schema_version` counts how many ran, so an
// object made at an older version runs only the later steps. Steps stay idempotent (IF NOT EXISTS).
// An object at a version newer than this build knows is refused (the constructor throws): its data
// would be misread, so a rollback must not run against it.

/** Step 1: phones, linked devices and their keys, Signal sessions, inboxes, offline queue, event log. */
const V1_TABLES = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS phones (
     phone TEXT PRIMARY KEY, lid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, reg_id INTEGER NOT NULL,
     identity_priv BLOB NOT NULL, identity_pub BLOB NOT NULL,
     spk_id INTEGER NOT NULL, spk_priv BLOB NOT NULL, spk_pub BLOB NOT NULL, spk_sig BLOB NOT NULL,
     next_prekey_id INTEGER NOT NULL, next_device INTEGER NOT NULL, next_key_index INTEGER NOT NULL,
     receipt_policy TEXT NOT NULL, banned INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS phone_prekeys (
     phone TEXT NOT NULL, key_id INTEGER NOT NULL, priv BLOB NOT NULL, pub BLOB NOT NULL, served INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (phone, key_id))`,
  `CREATE TABLE IF NOT EXISTS companions (
     phone TEXT NOT NULL, device INTEGER NOT NULL, session_id TEXT NOT NULL, noise_pub BLOB NOT NULL,
     identity_pub BLOB NOT NULL, reg_id INTEGER NOT NULL, skey_id INTEGER NOT NULL, skey_pub BLOB NOT NULL,
     skey_sig BLOB NOT NULL, key_index INTEGER NOT NULL, platform TEXT NOT NULL, status TEXT NOT NULL,
     history_synced INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, PRIMARY KEY (phone, device))`,
  `CREATE TABLE IF NOT EXISTS companion_prekeys (
     phone TEXT NOT NULL, device INTEGER NOT NULL, key_id INTEGER NOT NULL, pub BLOB NOT NULL,
     PRIMARY KEY (phone, device, key_id))`,
  `CREATE TABLE IF NOT EXISTS signal_sessions (owner TEXT NOT NULL, address TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (owner, address))`,
  `CREATE TABLE IF NOT EXISTS signal_identities (owner TEXT NOT NULL, address TEXT NOT NULL, key BLOB NOT NULL, PRIMARY KEY (owner, address))`,
  `CREATE TABLE IF NOT EXISTS messages (
     owner TEXT NOT NULL, id TEXT NOT NULL, direction TEXT NOT NULL, peer TEXT NOT NULL, chat_jid TEXT NOT NULL, from_device INTEGER,
     type TEXT NOT NULL, text TEXT, caption TEXT, media_sha256 TEXT, mimetype TEXT, timestamp INTEGER NOT NULL,
     delivered_at INTEGER, read_at INTEGER, PRIMARY KEY (owner, id, direction))`,
  `CREATE TABLE IF NOT EXISTS pending_stanzas (seq INTEGER PRIMARY KEY AUTOINCREMENT, phone TEXT NOT NULL, device INTEGER NOT NULL, node BLOB NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS event_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL)`,
];

/** Step 2 tables: media store (blobs split across rows: a DO SQLite row holds at most 2 MB), groups, sender keys, schedule. */
const V2_TABLES = [
  `CREATE TABLE IF NOT EXISTS media_blobs (
     id TEXT PRIMARY KEY, media_type TEXT NOT NULL, enc_sha256 TEXT NOT NULL, size INTEGER NOT NULL,
     chunks INTEGER NOT NULL, uploader TEXT NOT NULL, created_at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS media_chunks (id TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (id, seq))`,
  `CREATE TABLE IF NOT EXISTS groups (jid TEXT PRIMARY KEY, subject TEXT NOT NULL, creator TEXT NOT NULL, created_at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS group_members (group_jid TEXT NOT NULL, phone TEXT NOT NULL, admin TEXT, PRIMARY KEY (group_jid, phone))`,
  `CREATE TABLE IF NOT EXISTS sender_keys (owner TEXT NOT NULL, name TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (owner, name))`,
  `CREATE TABLE IF NOT EXISTS sender_key_sent (owner TEXT NOT NULL, group_jid TEXT NOT NULL, phone TEXT NOT NULL, device INTEGER NOT NULL,
     PRIMARY KEY (owner, group_jid, phone, device))`,
  `CREATE TABLE IF NOT EXISTS schedule (seq INTEGER PRIMARY KEY AUTOINCREMENT, due INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL)`,
];

/**
 * Step 4 tables: the app-state server (appstate.store.ts): each account's pushed patches per
 * collection, versioned, kept as sent; and each phone's app-state sync keys, shared with its devices.
 */
const V4_APP_STATE = [
  `CREATE TABLE IF NOT EXISTS app_state_patches (
     phone TEXT NOT NULL, collection TEXT NOT NULL, version INTEGER NOT NULL, patch BLOB NOT NULL, device INTEGER NOT NULL,
     created_at INTEGER NOT NULL, PRIMARY KEY (phone, collection, version))`,
  `CREATE TABLE IF NOT EXISTS app_state_keys (phone TEXT NOT NULL, key_id BLOB NOT NULL, key_data BLOB NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (phone, key_id))`,
];

/**
 * Step 5: groups as WhatsApp keeps them (groups.ts): description, settings (announce, locked,
 * membership approval, who may add), invite code, picture; pending join requests; the invites a
 * refused add leaves (an `add_request` code the invitee accepts); each phone's "who can add me".
 */
const V5_GROUPS = (sql: Sql) => {
  addColumn(sql, "groups", "description", "TEXT");
  addColumn(sql, "groups", "description_id", "TEXT");
  addColumn(sql, "groups", "description_by", "TEXT");
  addColumn(sql, "groups", "description_at", "INTEGER");
  addColumn(sql, "groups", "subject_by", "TEXT");
  addColumn(sql, "groups", "subject_at", "INTEGER");
  addColumn(sql, "groups", "announce", "INTEGER NOT NULL DEFAULT 0");
  addColumn(sql, "groups", "locked", "INTEGER NOT NULL DEFAULT 0");
  addColumn(sql, "groups", "join_approval", "INTEGER NOT NULL DEFAULT 0");
  addColumn(sql, "groups", "member_add_mode", "TEXT NOT NULL DEFAULT 'admin_add'");
  addColumn(sql, "groups", "invite_code", "TEXT");
  addColumn(sql, "groups", "picture_id", "TEXT");
  sql.run("CREATE UNIQUE INDEX IF NOT EXISTS groups_invite_code ON groups (invite_code)");
  sql.run(`CREATE TABLE IF NOT EXISTS group_pictures (group_jid TEXT PRIMARY KEY, picture_id TEXT NOT NULL, data BLOB NOT NULL, updated_at INTEGER NOT NULL)`);
  sql.run(`CREATE TABLE IF NOT EXISTS group_requests (
     group_jid TEXT NOT NULL, phone TEXT NOT NULL, method TEXT NOT NULL, requested_at INTEGER NOT NULL, PRIMARY KEY (group_jid, phone))`);
  sql.run(`CREATE TABLE IF NOT EXISTS group_add_invites (
     group_jid TEXT NOT NULL, phone TEXT NOT NULL, code TEXT NOT NULL, expiration INTEGER NOT NULL, admin TEXT NOT NULL, PRIMARY KEY (group_jid, phone))`);
  addColumn(sql, "phones", "group_add_privacy", "TEXT NOT NULL DEFAULT 'all'");
};

/**
 * Step 6: people (issue 13). LID-addressed phones and groups; each phone's profile (about, picture,
 * business flag), address book, blocklist and privacy settings (with the contact lists of the
 * "only share with" / "except" values). Each area adds its columns in its marked part.
 */
const V6_PEOPLE = (sql: Sql) => {
  // LIDs: a phone whose chats WhatsApp addresses by LID; a group addressed by LID.
  addColumn(sql, "phones", "lid_addressed", "INTEGER NOT NULL DEFAULT 0");
  addColumn(sql, "groups", "addressing_mode", "TEXT NOT NULL DEFAULT 'pn'");
  // Profiles: about text (and when set), picture, business flag.
  addColumn(sql, "phones", "about", "TEXT");
  addColumn(sql, "phones", "about_at", "INTEGER");
  addColumn(sql, "phones", "business", "INTEGER NOT NULL DEFAULT 0");
  // A business's profile description (w:biz business_profile).
  addColumn(sql, "phones", "business_description", "TEXT");
  sql.run(`CREATE TABLE IF NOT EXISTS phone_pictures (phone TEXT PRIMARY KEY, picture_id TEXT NOT NULL, data BLOB NOT NULL, updated_at INTEGER NOT NULL)`);
  // Contacts: the names a phone saved (what its address book holds).
  sql.run(`CREATE TABLE IF NOT EXISTS address_book (phone TEXT NOT NULL, contact TEXT NOT NULL, name TEXT, PRIMARY KEY (phone, contact))`);
  // Blocklist.
  sql.run(`CREATE TABLE IF NOT EXISTS blocklist (phone TEXT NOT NULL, blocked TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (phone, blocked))`);
  // Privacy: one value per category; the users listed for "contact_blacklist" / "contact_whitelist" values.
  sql.run(`CREATE TABLE IF NOT EXISTS privacy_settings (phone TEXT NOT NULL, category TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (phone, category))`);
  sql.run(`CREATE TABLE IF NOT EXISTS privacy_lists (phone TEXT NOT NULL, category TEXT NOT NULL, member TEXT NOT NULL, PRIMARY KEY (phone, category, member))`);
  // Presence: each account's own (set by its devices or the driver) and the chat states each phone was sent.
  addColumn(sql, "phones", "presence", "TEXT NOT NULL DEFAULT 'unavailable'");
  addColumn(sql, "phones", "last_seen", "INTEGER");
  sql.run(`CREATE TABLE IF NOT EXISTS chatstates_seen (seq INTEGER PRIMARY KEY AUTOINCREMENT, phone TEXT NOT NULL, sender TEXT NOT NULL, chat TEXT NOT NULL, state TEXT NOT NULL, at INTEGER NOT NULL)`);
};

export const WORLD_MIGRATIONS: readonly Migration[] = [
  V1_TABLES,
  (sql) => {
    for (const statement of V2_TABLES) sql.run(statement);
    // v1 inboxes lack what rich messages and media downloads need.
    addColumn(sql, "messages", "extra", "TEXT");
    addColumn(sql, "messages", "media_ref", "TEXT");
  },
  // Step 3: a stored stanza is kept until the device answers it (offline.ts), so the queue knows
  // each one's tag and id (what an answer names) and how often it went out.
  (sql) => {
    addColumn(sql, "pending_stanzas", "tag", "TEXT");
    addColumn(sql, "pending_stanzas", "stanza_id", "TEXT");
    addColumn(sql, "pending_stanzas", "sends", "INTEGER NOT NULL DEFAULT 0");
    // What an `<ack>` echoes of the stanza (offline.queue.ts ackKey): picks the right one of several with one id.
    addColumn(sql, "pending_stanzas", "ack_key", "TEXT");
    sql.run("CREATE INDEX IF NOT EXISTS pending_stanzas_answer ON pending_stanzas (phone, device, tag, stanza_id)");
    // A device's queue in order (batches, counts, clearing).
    sql.run("CREATE INDEX IF NOT EXISTS pending_stanzas_device ON pending_stanzas (phone, device, seq)");
    for (const row of sql.all<{ seq: number; node: Uint8Array }>("SELECT seq, node FROM pending_stanzas WHERE tag IS NULL")) {
      const key = stanzaKey(row.node);
      sql.run("UPDATE pending_stanzas SET tag = ?, stanza_id = ?, ack_key = ? WHERE seq = ?", key.tag, key.id ?? null, key.ackKey ?? null, row.seq);
    }
  },
  V4_APP_STATE,
  V5_GROUPS,
  V6_PEOPLE,
];

export const SCHEMA_VERSION = WORLD_MIGRATIONS.length;

/**
 * Brings the object's SQLite to SCHEMA_VERSION; run once, before the store is used. With a
 * `transaction` (the object's `storage.transactionSync`) the steps and the version row commit together.
 */
export const migrateWorld = (db: SqlExec, options: Pick<MigrateOptions, "transaction"> = {}): number =>
  migrate(db, WORLD_MIGRATIONS, { transaction: options.transaction });
