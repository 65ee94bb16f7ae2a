import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { offlineCopy } from "../../src/sandbox/offline.queue";
import { node } from "../../src/sandbox/stanzas";
import { SCHEMA_VERSION, migrateWorld } from "../../src/sandbox/world.schema";
import { sandboxOf } from "../helpers/sandbox-client";

// The sandbox object's schema: ordered migrations counted by one version row, run once when the
// object is built. An object made at an older version runs only the later steps.

const tables = (sql: SqlStorage) =>
  sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'").toArray().map((r) => r.name);
const columns = (sql: SqlStorage, table: string) => sql.exec<{ name: string }>(`PRAGMA table_info(${table})`).toArray().map((r) => r.name);
const version = (sql: SqlStorage) => sql.exec<{ version: number }>("SELECT version FROM schema_version").one().version;

// The tables a v1 object has, frozen as v1 shipped them (not read from the migrations, which may change).
const V1_SQL = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)`,
  `CREATE TABLE phones (
     phone TEXT PRIMARY KEY, lid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, reg_id INTEGER NOT NULL,
     identity_priv BLOB NOT NULL, identity_pub BLOB NOT NULL,
     spk_id INTEGER NOT NULL, spk_priv BLOB NOT NULL, spk_pub BLOB NOT NULL, spk_sig BLOB NOT NULL,
     next_prekey_id INTEGER NOT NULL, next_device INTEGER NOT NULL, next_key_index INTEGER NOT NULL,
     receipt_policy TEXT NOT NULL, banned INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL)`,
  `CREATE TABLE phone_prekeys (
     phone TEXT NOT NULL, key_id INTEGER NOT NULL, priv BLOB NOT NULL, pub BLOB NOT NULL, served INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (phone, key_id))`,
  `CREATE TABLE companions (
     phone TEXT NOT NULL, device INTEGER NOT NULL, session_id TEXT NOT NULL, noise_pub BLOB NOT NULL,
     identity_pub BLOB NOT NULL, reg_id INTEGER NOT NULL, skey_id INTEGER NOT NULL, skey_pub BLOB NOT NULL,
     skey_sig BLOB NOT NULL, key_index INTEGER NOT NULL, platform TEXT NOT NULL, status TEXT NOT NULL,
     history_synced INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, PRIMARY KEY (phone, device))`,
  `CREATE TABLE companion_prekeys (
     phone TEXT NOT NULL, device INTEGER NOT NULL, key_id INTEGER NOT NULL, pub BLOB NOT NULL,
     PRIMARY KEY (phone, device, key_id))`,
  `CREATE TABLE signal_sessions (owner TEXT NOT NULL, address TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (owner, address))`,
  `CREATE TABLE signal_identities (owner TEXT NOT NULL, address TEXT NOT NULL, key BLOB NOT NULL, PRIMARY KEY (owner, address))`,
  `CREATE TABLE messages (
     owner TEXT NOT NULL, id TEXT NOT NULL, direction TEXT NOT NULL, peer TEXT NOT NULL, chat_jid TEXT NOT NULL, from_device INTEGER,
     type TEXT NOT NULL, text TEXT, caption TEXT, media_sha256 TEXT, mimetype TEXT, timestamp INTEGER NOT NULL,
     delivered_at INTEGER, read_at INTEGER, PRIMARY KEY (owner, id, direction))`,
  `CREATE TABLE pending_stanzas (seq INTEGER PRIMARY KEY AUTOINCREMENT, phone TEXT NOT NULL, device INTEGER NOT NULL, node BLOB NOT NULL)`,
  `CREATE TABLE event_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL)`,
];

describe("sandbox schema", () => {
  it("a new object is at the newest version with every table", async () => {
    await sandboxOf("acct-schema-new").listPhones();
    await runInDurableObject(sandboxOf("acct-schema-new"), (_i, state) => {
      expect(version(state.storage.sql)).toBe(SCHEMA_VERSION);
      // Pinned: a new step must be a deliberate change here too.
      expect(SCHEMA_VERSION).toBe(6);
      expect(tables(state.storage.sql)).toEqual(expect.arrayContaining(["phones", "companions", "messages", "media_blobs", "groups", "schedule", "blocklist", "privacy_settings", "address_book"]));
      expect(columns(state.storage.sql, "phones")).toEqual(expect.arrayContaining(["lid_addressed", "about", "business"]));
      expect(columns(state.storage.sql, "messages")).toEqual(expect.arrayContaining(["extra", "media_ref"]));
      expect(columns(state.storage.sql, "pending_stanzas")).toEqual(expect.arrayContaining(["tag", "stanza_id", "sends", "ack_key"]));
    });
  });

  it("a v1 object runs the later steps only and keeps its rows; at the newest version nothing runs", async () => {
    await sandboxOf("acct-schema-v1").listPhones();
    await runInDurableObject(sandboxOf("acct-schema-v1"), (_i, state) => {
      const sql = state.storage.sql;
      // Rebuild the object as v1 left it: step 1's tables, version 1, an inbox row without the v2 columns.
      for (const name of tables(sql)) sql.exec(`DROP TABLE ${name}`);
      sql.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
      sql.exec("INSERT INTO schema_version (version) VALUES (1)");
      for (const statement of V1_SQL) sql.exec(statement);
      sql.exec("INSERT INTO messages (owner, id, direction, peer, chat_jid, type, timestamp) VALUES ('15550001001', 'M1', 'in', '15550001002', 'x', 'text', 1)");
      // A stanza queued for an offline device, as v1 stored it (bytes only).
      const queued = offlineCopy(node("receipt", { from: "15550001002@s.whatsapp.net", id: "R1", t: "1" }));
      sql.exec("INSERT INTO pending_stanzas (phone, device, node) VALUES ('15550001001', 1, ?)", queued.buffer.slice(queued.byteOffset, queued.byteOffset + queued.byteLength));
      expect(columns(sql, "messages")).not.toContain("extra");
      // A step-1 table gone: if step 1 ran again it would come back.
      sql.exec("DROP TABLE event_log");

      expect(migrateWorld(sql)).toBe(SCHEMA_VERSION);
      expect(version(sql)).toBe(SCHEMA_VERSION);
      expect(columns(sql, "messages")).toEqual(expect.arrayContaining(["extra", "media_ref"]));
      // Step 3: the queued stanza now names what answers it (its tag and id) and is kept until then.
      expect(sql.exec("SELECT tag, stanza_id, sends, ack_key FROM pending_stanzas").toArray()).toEqual([
        { tag: "receipt", stanza_id: "R1", sends: 0, ack_key: "15550001002@s.whatsapp.net|||" },
      ]);
      const indexes = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'pending_stanzas'").toArray().map((r) => r.name);
      expect(indexes).toEqual(expect.arrayContaining(["pending_stanzas_answer", "pending_stanzas_device"]));
      expect(tables(sql)).toEqual(expect.arrayContaining(["media_blobs", "media_chunks", "groups", "group_members", "sender_keys", "sender_key_sent", "schedule"]));
      expect(sql.exec("SELECT id, extra FROM messages").toArray()).toEqual([{ id: "M1", extra: null }]);
      expect(tables(sql)).not.toContain("event_log");

      // At the newest version no step runs: a table dropped since is not made again.
      sql.exec("DROP TABLE schedule");
      migrateWorld(sql);
      expect(tables(sql)).not.toContain("schedule");
      expect(version(sql)).toBe(SCHEMA_VERSION);
    });
  });
});
