import { now } from "../domain/time";
import type { Db } from "./client";
import type { CampaignRow, MessageRow } from "./messages.rows";

// ---------------------------------------------------------------------------------------
// Accepting sends: debit, daily usage, campaigns, message rows (and the idempotency record)
// in ONE D1 batch, which is one transaction. The first statement inserts the first campaign
// only if the balance covers the whole cost and the plan's daily limit allows the count;
// every later statement applies only if that campaign row exists. So a failed check stores
// nothing at all, without relying on an error to roll back.
// ---------------------------------------------------------------------------------------

// Rows json_each feeds to one INSERT; keeps each bound JSON value well under D1's limits.
const ROWS_PER_INSERT = 500;

export interface SendRows {
  campaign: CampaignRow;
  /** Rows of this campaign; they share every column but id and to_number. */
  messages: MessageRow[];
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
  /** Stored in the same transaction; `response` is JSON whose data.new_balance and
   * data.remaining_messages are filled in from the debited balance. */
  idempotency?: { key: string; method: string; path: string; requestHash: string; statusCode: number; response: string };
}

export type AcceptResult = { accepted: true; balance: number } | { accepted: false; reason: "insufficient_balance" | "daily_limit_reached" | "contended" };

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

export async function acceptSends(db: Db, input: AcceptInput): Promise<AcceptResult> {
  const d1 = db.$client;
  const at = now();
  const anchor = input.sends[0].campaign.id;
  const gated = "EXISTS (SELECT 1 FROM campaigns WHERE id = ?)";
  const statements: D1PreparedStatement[] = [];
  const usage = usageByDay(input.sends);
  const usageJson = JSON.stringify([...usage]);

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
      `(SELECT balance FROM accounts WHERE id = ?) >= ?
       AND (? IS NULL OR NOT ${OVER_DAILY_LIMIT})`,
      [input.accountId, input.totalCost, input.dailyLimit, usageJson, input.accountId, input.dailyLimit],
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
  statements.push(
    d1.prepare(`SELECT balance, ${gated} AS accepted FROM accounts WHERE id = ?`).bind(anchor, input.accountId),
  );

  const results = await d1.batch<{ balance: number; accepted: number }>(statements);
  const outcome = results[results.length - 1].results[0];
  if (outcome?.accepted) return { accepted: true, balance: outcome.balance };

  // Nothing was stored; say why from the current figures.
  const state = await d1
    .prepare(`SELECT a.balance AS balance, ${OVER_DAILY_LIMIT} AS over FROM accounts AS a WHERE a.id = ?`)
    .bind(usageJson, input.accountId, input.dailyLimit ?? Number.MAX_SAFE_INTEGER, input.accountId)
    .first<{ balance: number; over: number }>();
  if (!state || state.balance < input.totalCost) return { accepted: false, reason: "insufficient_balance" };
  if (input.dailyLimit !== null && state.over) return { accepted: false, reason: "daily_limit_reached" };
  return { accepted: false, reason: "contended" };
}
