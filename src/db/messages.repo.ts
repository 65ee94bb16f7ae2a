import { and, desc, eq, gte, inArray, lt, lte, or, sql, type SQL } from "drizzle-orm";
import { now } from "../domain/time";
import type { Cursor } from "../domain/cursor";
import type { Db } from "./client";
import { campaigns, messages } from "./schema";

// D1 binds at most 100 parameters per statement; id lists are read in chunks below that.
const IDS_PER_QUERY = 90;

function chunks<T>(items: T[], size = IDS_PER_QUERY): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export type MessageRow = typeof messages.$inferSelect;
export type CampaignRow = typeof campaigns.$inferSelect;
export type MessageStatus = MessageRow["status"];

/** Accepted but not yet handed to WhatsApp: the only states a message may fail or be sent from. */
export const PENDING_STATUSES = ["queued", "scheduled"] as const;
// Rows json_each feeds to one INSERT; keeps each bound JSON value well under D1's limits.
const ROWS_PER_INSERT = 500;

// ---------------------------------------------------------------------------------------
// Accepting sends: debit, daily usage, campaigns, message rows (and the idempotency record)
// in ONE D1 batch, which is one transaction. The first statement inserts the first campaign
// only if the balance covers the whole cost and the plan's daily limit allows the count;
// every later statement applies only if that campaign row exists. So a failed check stores
// nothing at all, without relying on an error to roll back.
// ---------------------------------------------------------------------------------------

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

/** The UTC day of a row's created_at: the day its message counts toward the plan's daily limit. */
const USAGE_DAY_SQL = "substr(m.created_at, 1, 10)";

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

// ---------------------------------------------------------------------------------------
// Status changes, called by the session object (and the send dead-letter consumer). Each is
// conditional on the current status, so a repeated call changes nothing and returns nothing.
// ---------------------------------------------------------------------------------------

function fromSql(r: Record<string, unknown>): MessageRow {
  const json = (v: unknown) => (typeof v === "string" ? (JSON.parse(v) as Record<string, unknown>) : null);
  return {
    id: r.id as string,
    accountId: r.account_id as string,
    whatsappSessionId: r.whatsapp_session_id as string,
    campaignId: (r.campaign_id as string) ?? null,
    otpId: (r.otp_id as string) ?? null,
    providerMessageId: (r.provider_message_id as string) ?? null,
    fromNumber: (r.from_number as string) ?? null,
    toNumber: r.to_number as string,
    type: r.type as string,
    content: (r.content as string) ?? null,
    mediaUrl: (r.media_url as string) ?? null,
    payload: json(r.payload),
    status: r.status as MessageStatus,
    direction: r.direction as MessageRow["direction"],
    reason: (r.reason as string) ?? null,
    cost: r.cost as number,
    metadata: json(r.metadata),
    idempotencyKey: (r.idempotency_key as string) ?? null,
    callbackUrl: (r.callback_url as string) ?? null,
    callbackData: (r.callback_data as string) ?? null,
    scheduledAt: (r.scheduled_at as string) ?? null,
    sentAt: (r.sent_at as string) ?? null,
    deliveredAt: (r.delivered_at as string) ?? null,
    readAt: (r.read_at as string) ?? null,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

/** queued/scheduled → sent. Returns the updated row, or null if it was not pending. */
export async function markMessageSent(db: Db, id: string, providerMessageId: string, sentAtIso: string): Promise<MessageRow | null> {
  const [row] = await db
    .update(messages)
    .set({ status: "sent", providerMessageId, sentAt: sentAtIso, updatedAt: now() })
    .where(and(eq(messages.id, id), inArray(messages.status, [...PENDING_STATUSES])))
    .returning();
  return row ?? null;
}

/**
 * Fails messages still in one of `statuses` (by default: not yet handed to WhatsApp) and
 * refunds their cost and their daily usage to their accounts, in one transaction; other
 * messages are left alone, so a second call refunds nothing. Returns the rows it failed.
 */
export async function failMessages(
  db: Db,
  ids: string[],
  reason: string,
  statuses: readonly MessageStatus[] = PENDING_STATUSES,
): Promise<MessageRow[]> {
  if (ids.length === 0) return [];
  const d1 = db.$client;
  const at = now();
  const list = JSON.stringify([...new Set(ids)]);
  const allowed = JSON.stringify(statuses);
  const failable = `m.id IN (SELECT value FROM json_each(?1)) AND m.status IN (SELECT value FROM json_each(?4)) AND m.direction = 'outgoing'`;
  const [, , updated] = await d1.batch<Record<string, unknown>>([
    d1
      .prepare(
        `UPDATE accounts SET balance = balance + (SELECT coalesce(sum(m.cost), 0) FROM messages AS m WHERE m.account_id = accounts.id AND ${failable}),
           updated_at = ?2
         WHERE id IN (SELECT m.account_id FROM messages AS m WHERE ${failable})`,
      )
      .bind(list, at, null, allowed),
    // The daily usage too, on the day each message was counted (a failed message does not use the plan).
    d1
      .prepare(
        `UPDATE daily_usage SET messages = max(0, messages - (SELECT count(*) FROM messages AS m
             WHERE m.account_id = daily_usage.account_id AND ${USAGE_DAY_SQL} = daily_usage.day AND ${failable}))
         WHERE (account_id, day) IN (SELECT m.account_id, ${USAGE_DAY_SQL} FROM messages AS m WHERE ${failable})`,
      )
      .bind(list, at, null, allowed),
    d1
      .prepare(`UPDATE messages AS m SET status = 'failed', reason = ?3, updated_at = ?2 WHERE ${failable} RETURNING *`)
      .bind(list, at, reason, allowed),
  ]);
  return updated.results.map(fromSql);
}

/** Fails (and refunds) every outgoing message of a session not yet handed to WhatsApp. */
export async function failPendingOfSession(db: Db, sessionUuid: string, reason: string): Promise<MessageRow[]> {
  const pending = await db
    .select({ id: messages.id })
    .from(messages)
    .where(and(eq(messages.whatsappSessionId, sessionUuid), eq(messages.direction, "outgoing"), inArray(messages.status, [...PENDING_STATUSES])))
    .all();
  const failed: MessageRow[] = [];
  for (const part of chunks(pending.map((p) => p.id))) failed.push(...(await failMessages(db, part, reason)));
  return failed;
}

/** One message not yet handed to WhatsApp: failed with its cost refunded, exactly once. */
export async function markMessageFailed(db: Db, id: string, reason: string): Promise<MessageRow | null> {
  const [row] = await failMessages(db, [id], reason);
  return row ?? null;
}

/**
 * Receipts: sent → delivered → read, never backwards. A read without a prior delivered
 * receipt sets both. Returns the rows that moved.
 */
export async function markMessagesByProvider(
  db: Db,
  sessionUuid: string,
  providerIds: string[],
  status: "delivered" | "read",
  atIso: string,
): Promise<MessageRow[]> {
  const from: MessageStatus[] = status === "delivered" ? ["sent"] : ["sent", "delivered"];
  const moved: MessageRow[] = [];
  for (const part of chunks([...new Set(providerIds)])) {
    moved.push(...(await markChunkByProvider(db, sessionUuid, part, status, from, atIso)));
  }
  return moved;
}

function markChunkByProvider(
  db: Db,
  sessionUuid: string,
  providerIds: string[],
  status: "delivered" | "read",
  from: MessageStatus[],
  atIso: string,
) {
  return db
    .update(messages)
    .set(
      status === "delivered"
        ? { status, deliveredAt: atIso, updatedAt: now() }
        : { status, readAt: atIso, deliveredAt: sql`coalesce(${messages.deliveredAt}, ${atIso})`, updatedAt: now() },
    )
    .where(
      and(
        eq(messages.whatsappSessionId, sessionUuid),
        inArray(messages.providerMessageId, providerIds),
        eq(messages.direction, "outgoing"),
        inArray(messages.status, from),
      ),
    )
    .returning();
}

export interface IncomingMessageInput {
  accountId: string;
  whatsappSessionId: string;
  providerMessageId: string;
  fromNumber: string | null;
  toNumber: string;
  type: string;
  content: string | null;
  mediaUrl?: string | null;
  payload?: Record<string, unknown> | null;
  metadata?: Record<string, unknown> | null;
  /** When WhatsApp says it was sent. */
  receivedAtIso: string;
}

/** Stores a received message once per (session, provider id); null when already stored. */
export async function insertIncomingMessage(db: Db, input: IncomingMessageInput): Promise<MessageRow | null> {
  const at = now();
  const row = await db.$client
    .prepare(
      `INSERT INTO messages (id, account_id, whatsapp_session_id, provider_message_id, from_number, to_number, type, content, media_url,
         payload, metadata, status, direction, cost, sent_at, delivered_at, created_at, updated_at)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'delivered', 'incoming', 0, ?, ?, ?, ?
       WHERE NOT EXISTS (SELECT 1 FROM messages WHERE whatsapp_session_id = ? AND provider_message_id = ? AND direction = 'incoming')
       RETURNING *`,
    )
    .bind(
      crypto.randomUUID(), input.accountId, input.whatsappSessionId, input.providerMessageId, input.fromNumber, input.toNumber,
      input.type, input.content, input.mediaUrl ?? null, input.payload ? JSON.stringify(input.payload) : null,
      input.metadata ? JSON.stringify(input.metadata) : null, input.receivedAtIso, at, at, at, input.whatsappSessionId, input.providerMessageId,
    )
    .first<Record<string, unknown>>();
  return row ? fromSql(row) : null;
}

/** Records on an incoming message what the auto-reply bot did about it (metadata.bot). */
export async function markBotOutcome(db: Db, id: string, outcome: Record<string, unknown>): Promise<void> {
  await db
    .update(messages)
    .set({ metadata: sql`json_set(coalesce(${messages.metadata}, '{}'), '$.bot', json(${JSON.stringify(outcome)}))`, updatedAt: now() })
    .where(eq(messages.id, id));
}

/** Records a revoke for everyone in the message's metadata. */
export async function markMessageRevoked(db: Db, id: string, atIso: string): Promise<MessageRow | null> {
  const [row] = await db
    .update(messages)
    .set({ metadata: sql`json_set(coalesce(${messages.metadata}, '{}'), '$.revoked_at', ${atIso})`, updatedAt: now() })
    .where(eq(messages.id, id))
    .returning();
  return row ?? null;
}

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

export async function findMessage(db: Db, accountId: string, id: string): Promise<MessageRow | undefined> {
  return db.select().from(messages).where(and(eq(messages.accountId, accountId), eq(messages.id, id))).get();
}

export async function findMessagesByIds(db: Db, ids: string[]): Promise<MessageRow[]> {
  const rows: MessageRow[] = [];
  for (const part of chunks(ids)) rows.push(...(await db.select().from(messages).where(inArray(messages.id, part)).all()));
  return rows;
}

/** Of these ids, those still waiting to be handed to WhatsApp. */
export async function pendingMessageIds(db: Db, ids: string[]): Promise<Set<string>> {
  const pending = new Set<string>();
  for (const part of chunks(ids)) {
    const rows = await db
      .select({ id: messages.id })
      .from(messages)
      .where(and(inArray(messages.id, part), inArray(messages.status, [...PENDING_STATUSES])))
      .all();
    for (const r of rows) pending.add(r.id);
  }
  return pending;
}

export interface MessageFilters {
  toNumbers?: string[];
  fromNumber?: string;
  status?: MessageStatus;
  direction?: MessageRow["direction"];
  type?: string;
  campaignId?: string;
  sessionUuid?: string;
  timeFrom?: string;
  timeTo?: string;
}

/** Newest first, keyset-paginated on (created_at, id). */
export async function listMessages(
  db: Db,
  accountId: string,
  filters: MessageFilters,
  page: { limit: number; cursor: Cursor | null },
): Promise<{ rows: MessageRow[]; next: Cursor | null }> {
  const where: (SQL | undefined)[] = [eq(messages.accountId, accountId)];
  if (filters.toNumbers?.length) where.push(inArray(messages.toNumber, filters.toNumbers));
  if (filters.fromNumber) where.push(eq(messages.fromNumber, filters.fromNumber));
  if (filters.status) where.push(eq(messages.status, filters.status));
  if (filters.direction) where.push(eq(messages.direction, filters.direction));
  if (filters.type) where.push(eq(messages.type, filters.type));
  if (filters.campaignId) where.push(eq(messages.campaignId, filters.campaignId));
  if (filters.sessionUuid) where.push(eq(messages.whatsappSessionId, filters.sessionUuid));
  if (filters.timeFrom) where.push(gte(messages.createdAt, filters.timeFrom));
  if (filters.timeTo) where.push(lte(messages.createdAt, filters.timeTo));
  if (page.cursor) {
    where.push(or(lt(messages.createdAt, page.cursor.createdAt), and(eq(messages.createdAt, page.cursor.createdAt), lt(messages.id, page.cursor.id))));
  }
  const rows = await db
    .select()
    .from(messages)
    .where(and(...where))
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(page.limit + 1)
    .all();
  const more = rows.length > page.limit;
  const pageRows = more ? rows.slice(0, page.limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return { rows: pageRows, next: more && last ? { createdAt: last.createdAt, id: last.id } : null };
}
