import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

// A database of its own (MIGRATION_TEST_DB), emptied before each test; DB is left alone.
const db = env.MIGRATION_TEST_DB;
async function dropEverything(): Promise<void> {
  const tables = await db.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY rowid DESC",
  ).all<{ name: string }>();
  for (const { name } of tables.results) await db.prepare(`DROP TABLE "${name}"`).run();
}

async function tableNames(): Promise<string[]> {
  const rows = await db.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'",
  ).all<{ name: string }>();
  return rows.results.map((r) => r.name).sort();
}

describe("D1 migrations", () => {
  it("apply to an empty database and create every table", async () => {
    await dropEverything();
    expect(await tableNames()).toEqual([]);
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    expect(await tableNames()).toEqual(
      [
        "accounts",
        "api_keys",
        "campaigns",
        "chats",
        "contacts",
        "daily_usage",
        "idempotency_keys",
        "message_receipts",
        "messages",
        "sessions",
        "webhook_attempts",
        "webhook_deliveries",
        "webhooks",
      ].sort(),
    );
  });

  it("keep existing rows when the newest migration is applied", async () => {
    await dropEverything();
    const all = env.TEST_MIGRATIONS;
    expect(all.length).toBeGreaterThan(1);
    await applyD1Migrations(db, all.slice(0, -1));

    // Rows in the foundation tables, which every later migration must preserve.
    const at = "2024-01-15T10:30:00.000000Z";
    await db.batch([
      db.prepare(
        "INSERT INTO accounts (id, name, plan, balance, message_cost, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ).bind("acc-1", "Seeded", "pro", 1234.5, 7, at, at),
      db.prepare(
        "INSERT INTO api_keys (id, account_id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      ).bind("key-1", "acc-1", "seeded key", "wag_abcdefgh", "f".repeat(64), at),
      db.prepare(
        "INSERT INTO sessions (id, account_id, session_id, phone_number, display_name, status, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ).bind("ses-1", "acc-1", "session_ses-1", "22997000000", "Shop", "connected", null, at, at),
    ]);

    await applyD1Migrations(db, all);

    expect(await db.prepare("SELECT * FROM accounts").all()).toMatchObject({
      results: [{ id: "acc-1", name: "Seeded", plan: "pro", balance: 1234.5, message_cost: 7, created_at: at }],
    });
    expect(await db.prepare("SELECT * FROM api_keys").all()).toMatchObject({
      results: [{ id: "key-1", account_id: "acc-1", name: "seeded key", hash: "f".repeat(64), revoked_at: null }],
    });
    expect(await db.prepare("SELECT * FROM sessions").all()).toMatchObject({
      results: [{ id: "ses-1", session_id: "session_ses-1", phone_number: "22997000000", status: "connected" }],
    });
  });
});
