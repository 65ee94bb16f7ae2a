import { now } from "../domain/time";
import type { Db } from "./client";
import type { CampaignRow, MessageRow } from "./messages.rows";

// ---------------------------------------------------------------------------------------
// Accepting sends: debit, daily usage, campaigns, message rows (and the idempotency record)
// in ONE D1 batch, which is one transaction. The first statement inserts the first campaign
// only if the balance covers the whole cost, the plan's daily limit allows the count and the
// folded checks hold (the API key is unrevoked, the account's price and plan and each
// session are as the caller read them, possibly from an isolate cache); every later
// statement applies only if that campaign row exists. So a failed check stores nothing at
// all, without relying on an error to roll back, and the last statement says which failed.
// ---------------------------------------------------------------------------------------

// Rows json_each feeds to one INSERT; keeps each bound JSON value well under D1's limits.
const ROWS_PER_INSERT = 500;

export interface SendRows {
  campaign: CampaignRow;
  /** Rows of this campaign; they share every column but id and to_number. */
  messages: MessageRow[];
}

/** What the caller read outside the transaction and the writes depend on. */
export interface AcceptGuards {
  /** The API key the request came with: it must exist, belong to the account and be unrevoked. */
  keyId?: string;
  /** The account's price and plan as read (the rows carry that price). */
  account?: { messageCost: number; plan: string };
  /** Each session sent through: still the account's, connected, with this phone number. */
  sessions?: { id: string; phoneNumber: string | null }[];
}

export interface AcceptInput {
  accountId: string;
  /** Per message; the same value the rows carry. */
  messageCost: number;
  totalCost: number;
  count: number;
  /** Checked and counted per UTC day of each row's created_at (see usageByDay). */
  dailyLimit: number | null;
  sends: SendRows[];
  guards?: AcceptGuards;
  /** Stored in the same transaction; `response` is JSON whose data.new_balance and
   * data.remaining_messages are filled in from the debited balance. */
  idempotency?: { key: string; method: string; path: string; requestHash: string; statusCode: number; response: string };
}

export type AcceptRefusal =
  | "account_not_found"
  | "invalid_api_key"
  | "revoked_api_key"
  /** The account's price or plan, or a session, changed since the caller read them. */
  | "stale"
  | "insufficient_balance"
  | "daily_limit_reached";
export type AcceptResult = { accepted: true; balance: number } | { accepted: false; reason: AcceptRefusal };

function usageByDay(sends: SendRows[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of sends.flatMap((s) => s.messages)) {
    const day = row.createdAt.slice(0, 10);
    counts.set(day, (counts.get(day) ?? 0) + 1);
  }
  return counts;
}

/**
 * SQL true when some day of `days` (JSON [[day, count], ...]) would pass the limit: the days the
 * rows count on, so check and count agree even when the rows were created before midnight.
 * Binds: days, account id, limit.
 */
const OVER_DAILY_LIMIT = `EXISTS (SELECT 1 FROM json_each(?) AS d
  WHERE coalesce((SELECT messages FROM daily_usage WHERE account_id = ? AND day = json_extract(d.value, '$[0]')), 0) + json_extract(d.value, '$[1]') > ?)`;

/** Each folded check as an SQL truth value with its binds. */
function guardChecks(accountId: string, g: AcceptGuards = {}) {
  const key = g.keyId
    ? { sql: "EXISTS (SELECT 1 FROM api_keys WHERE id = ? AND account_id = ? AND revoked_at IS NULL)", args: [g.keyId, accountId] }
    : { sql: "1", args: [] };
  const keyFound = g.keyId ? { sql: "EXISTS (SELECT 1 FROM api_keys WHERE id = ? AND account_id = ?)", args: [g.keyId, accountId] } : { sql: "1", args: [] };
  const fresh = g.account
    ? { sql: "EXISTS (SELECT 1 FROM accounts WHERE id = ? AND message_cost = ? AND plan = ?)", args: [accountId, g.account.messageCost, g.account.plan] }
    : { sql: "1", args: [] };
  const sessions = g.sessions?.length
    ? {
        sql: `NOT EXISTS (SELECT 1 FROM json_each(?) AS g WHERE NOT EXISTS (SELECT 1 FROM sessions AS s
          WHERE s.id = json_extract(g.value, '$[0]') AND s.account_id = ? AND s.status = 'connected'
            AND s.phone_number IS json_extract(g.value, '$[1]')))`,
        args: [JSON.stringify(g.sessions.map((x) => [x.id, x.phoneNumber])), accountId],
      }
    : { sql: "1", args: [] };
  return { key, keyFound, fresh, sessions };
}

export async function acceptSends(db: Db, input: AcceptInput): Promise<AcceptResult> {
  const d1 = db.$client;
  const at = now();
  const anchor = input.sends[0].campaign.id;
  const gated = "EXISTS (SELECT 1 FROM campaigns WHERE id = ?)";
  const statements: D1PreparedStatement[] = [];
  const usage = usageByDay(input.sends);
  const usageJson = JSON.stringify([...usage]);
  const checks = guardChecks(input.accountId, input.guards);

  const insertCampaign = (c: CampaignRow, gate: string, gateArgs: unknown[]) =>
    d1
      .prepare(
        `INSERT INTO campaigns (id, account_id, whatsapp_session_id, type, total, delay_between, scheduled_at, created_at, updated_at)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE ${gate}`,
      )
      .bind(c.id, c.accountId, c.whatsappSessionId, c.type, c.total, c.delayBetween, c.scheduledAt, c.createdAt, c.updatedAt, ...gateArgs);

  statements.push(
    insertCampaign(
      input.sends[0].campaign,
      `${checks.key.sql} AND ${checks.fresh.sql} AND ${checks.sessions.sql}
       AND (SELECT balance FROM accounts WHERE id = ?) >= ?
       AND (? IS NULL OR NOT ${OVER_DAILY_LIMIT})`,
      [...checks.key.args, ...checks.fresh.args, ...checks.sessions.args,
        input.accountId, input.totalCost, input.dailyLimit, usageJson, input.accountId, input.dailyLimit],
    ),
    d1.prepare(`UPDATE accounts SET balance = balance - ?, updated_at = ? WHERE id = ? AND ${gated}`).bind(input.totalCost, at, input.accountId, anchor),
  );
  // Usage is counted on the UTC day of each row's created_at, the day a refund gives it back to.
  for (const [day, count] of usage) {
    statements.push(
      d1
        .prepare(
          `INSERT INTO daily_usage (account_id, day, messages) SELECT ?, ?, ? WHERE ${gated}
           ON CONFLICT (account_id, day) DO UPDATE SET messages = messages + excluded.messages`,
        )
        .bind(input.accountId, day, count, anchor),
    );
  }
  for (const send of input.sends.slice(1)) statements.push(insertCampaign(send.campaign, gated, [anchor]));

  for (const send of input.sends) {
    const m = send.messages[0];
    for (let i = 0; i < send.messages.length; i += ROWS_PER_INSERT) {
      const pairs = send.messages.slice(i, i + ROWS_PER_INSERT).map((row) => [row.id, row.toNumber]);
      statements.push(
        d1
          .prepare(
            `INSERT INTO messages (id, to_number, account_id, whatsapp_session_id, campaign_id, from_number, type, content, media_url,
               payload, metadata, status, direction, cost, idempotency_key, callback_url, callback_data, scheduled_at, created_at, updated_at)
             SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'outgoing', ?, ?, ?, ?, ?, ?, ?
             FROM json_each(?) AS j WHERE ${gated}`,
          )
          .bind(
            m.accountId, m.whatsappSessionId, m.campaignId, m.fromNumber, m.type, m.content, m.mediaUrl,
            m.payload ? JSON.stringify(m.payload) : null, m.metadata ? JSON.stringify(m.metadata) : null, m.status, m.cost, m.idempotencyKey, m.callbackUrl, m.callbackData,
            m.scheduledAt, m.createdAt, m.updatedAt, JSON.stringify(pairs), anchor,
          ),
      );
    }
  }

  const idem = input.idempotency;
  if (idem) {
    // A concurrent request with the same key already inserted this primary key: the whole
    // batch fails and the caller answers with that request's stored response.
    statements.push(
      d1
        .prepare(
          `INSERT INTO idempotency_keys (account_id, key, method, path, request_hash, status_code, response, created_at)
           SELECT ?, ?, ?, ?, ?, ?, json_set(?, '$.data.new_balance', a.balance,
             '$.data.remaining_messages', CASE WHEN ? > 0 THEN CAST(a.balance / ? AS INTEGER) ELSE NULL END), ?
           FROM accounts AS a WHERE a.id = ? AND ${gated}`,
        )
        .bind(input.accountId, idem.key, idem.method, idem.path, idem.requestHash, idem.statusCode, idem.response,
          input.messageCost, input.messageCost, at, input.accountId, anchor),
    );
  }
  // Read in the same transaction, after the gated writes: what the gate saw, flag by flag.
  statements.push(
    d1
      .prepare(
        `SELECT a.balance AS balance, ${gated} AS accepted, ${checks.keyFound.sql} AS key_found, ${checks.key.sql} AS key_ok,
           ${checks.fresh.sql} AS fresh, ${checks.sessions.sql} AS sessions_ok, (? IS NOT NULL AND ${OVER_DAILY_LIMIT}) AS over
         FROM accounts AS a WHERE a.id = ?`,
      )
      .bind(anchor, ...checks.keyFound.args, ...checks.key.args, ...checks.fresh.args, ...checks.sessions.args,
        input.dailyLimit, usageJson, input.accountId, input.dailyLimit ?? Number.MAX_SAFE_INTEGER, input.accountId),
  );

  const results = await d1.batch<Outcome>(statements);
  const outcome = results[results.length - 1].results[0];
  if (outcome?.accepted) return { accepted: true, balance: outcome.balance };
  return { accepted: false, reason: refusal(outcome, input) };
}

interface Outcome {
  balance: number;
  accepted: number;
  key_found: number;
  key_ok: number;
  fresh: number;
  sessions_ok: number;
  over: number;
}

/** Why nothing was stored, in the order a client is told (auth first, as before any check). */
function refusal(o: Outcome | undefined, input: AcceptInput): AcceptRefusal {
  if (!o) return input.guards?.keyId ? "invalid_api_key" : "account_not_found";
  if (!o.key_found) return "invalid_api_key";
  if (!o.key_ok) return "revoked_api_key";
  if (!o.fresh || !o.sessions_ok) return "stale";
  if (o.balance < input.totalCost) return "insufficient_balance";
  if (o.over) return "daily_limit_reached";
  // The flags are read in the transaction that wrote (or not): one of them explains a refusal.
  throw new Error("accept batch stored nothing, yet every check it reads back passed");
}
