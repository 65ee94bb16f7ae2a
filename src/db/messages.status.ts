import { and, eq, inArray, sql } from "drizzle-orm";
import { now } from "../domain/time";
import type { Db } from "./client";
import { chunks, fromSql, PENDING_STATUSES, type MessageRow, type MessageStatus } from "./messages.rows";
import { messages } from "./schema";

// ---------------------------------------------------------------------------------------
// Status changes, called by the session object (and the send dead-letter consumer). Each is
// conditional on the current status, so a repeated call changes nothing and returns nothing.
// ---------------------------------------------------------------------------------------

/** The UTC day of a row's created_at: the day its message counts toward the plan's daily limit. */
const USAGE_DAY_SQL = "substr(m.created_at, 1, 10)";

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

/** Records a revoke for everyone in the message's metadata. */
export async function markMessageRevoked(db: Db, id: string, atIso: string): Promise<MessageRow | null> {
  const [row] = await db
    .update(messages)
    .set({ metadata: sql`json_set(coalesce(${messages.metadata}, '{}'), '$.revoked_at', ${atIso})`, updatedAt: now() })
    .where(eq(messages.id, id))
    .returning();
  return row ?? null;
}
