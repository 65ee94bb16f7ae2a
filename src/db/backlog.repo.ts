import { and, asc, eq, gt, gte, or, sql } from "drizzle-orm";
import type { Db } from "./client";
import { PENDING_STATUSES, type MessageRow } from "./messages.rows";
import { campaigns, messages } from "./schema";

// The send backlog as D1 records it: accepted outgoing messages not yet handed to WhatsApp.
// D1 is the truth; the send queue and the direct hand-off only wake the session object up.
// These reads use messages_pending_idx (status, whatsapp_session_id, created_at) and
// messages_scheduled_idx (status, whatsapp_session_id, scheduled_at).

export interface BacklogRow {
  message: MessageRow;
  /** The campaign's delay_between (ms), which paces the outbox. */
  delayBetween: number;
}

export type BacklogStatus = (typeof PENDING_STATUSES)[number];

/**
 * One page of a session's backlog in one status, created at or after `since`, oldest first
 * (keyset on created_at, id). One status per read, so the index gives the order.
 */
export async function sessionBacklogPage(
  db: Db,
  sessionId: string,
  options: { status: BacklogStatus; since: string | null; after: { createdAt: string; id: string } | null; limit: number },
): Promise<BacklogRow[]> {
  const conditions = [eq(messages.status, options.status), eq(messages.whatsappSessionId, sessionId), eq(messages.direction, "outgoing")];
  if (options.since) conditions.push(gte(messages.createdAt, options.since));
  if (options.after) {
    const { createdAt, id } = options.after;
    conditions.push(or(gt(messages.createdAt, createdAt), and(eq(messages.createdAt, createdAt), gt(messages.id, id)))!);
  }
  const rows = await db
    .select({ message: messages, delayBetween: campaigns.delayBetween })
    .from(messages)
    .leftJoin(campaigns, eq(campaigns.id, messages.campaignId))
    .where(and(...conditions))
    .orderBy(asc(messages.createdAt), asc(messages.id))
    .limit(options.limit)
    .all();
  return rows.map((r) => ({ message: r.message, delayBetween: r.delayBetween ?? 0 }));
}

/**
 * Sessions after `after` (by id, ascending) holding a message accepted before `before` and
 * still `queued`, or `scheduled` and due before it: its hand-off may have been lost. A loose
 * index scan: one seek per session holding such rows, then one EXISTS seek, never a read of
 * every pending row. (Only outgoing messages are ever queued or scheduled.)
 */
export async function sessionsWithStaleSends(
  db: Db,
  status: BacklogStatus,
  before: string,
  options: { after: string; limit: number },
): Promise<string[]> {
  // queued: accepted before `before` (messages_pending_idx); scheduled: due before it (messages_scheduled_idx).
  const stale =
    status === "queued"
      ? sql`EXISTS (SELECT 1 FROM messages m WHERE m.status = 'queued' AND m.whatsapp_session_id = s.id AND m.created_at < ${before})`
      : sql`EXISTS (SELECT 1 FROM messages m WHERE m.status = 'scheduled' AND m.whatsapp_session_id = s.id AND m.scheduled_at < ${before})`;
  const rows = await db.all<{ id: string }>(sql`
    WITH RECURSIVE s(id) AS (
      SELECT (SELECT whatsapp_session_id FROM messages WHERE status = ${status} AND whatsapp_session_id > ${options.after} ORDER BY whatsapp_session_id LIMIT 1)
      UNION ALL
      SELECT (SELECT whatsapp_session_id FROM messages WHERE status = ${status} AND whatsapp_session_id > s.id ORDER BY whatsapp_session_id LIMIT 1)
      FROM s WHERE s.id IS NOT NULL
    )
    SELECT id FROM s WHERE id IS NOT NULL AND ${stale} LIMIT ${options.limit}`);
  return rows.map((r) => r.id);
}

/** Whether any message is waiting to be sent by `now`: queued, or scheduled and due. */
export async function hasQueuedSends(db: Db, now: string): Promise<boolean> {
  const queued = await db.select({ id: messages.id }).from(messages).where(eq(messages.status, "queued")).limit(1).get();
  if (queued) return true;
  return (await sessionsWithStaleSends(db, "scheduled", now, { after: "", limit: 1 })).length > 0;
}
