import { and, desc, eq, gte, inArray, lt, lte, or, type SQL } from "drizzle-orm";
import type { Cursor } from "../domain/cursor";
import type { Db } from "./client";
import { chunks, PENDING_STATUSES, type MessageRow, type MessageStatus } from "./messages.rows";
import { messages } from "./schema";

// Reads of the messages table: by id, by provider id, pending checks and the listing.

export async function findMessage(db: Db, accountId: string, id: string): Promise<MessageRow | undefined> {
  return db.select().from(messages).where(and(eq(messages.accountId, accountId), eq(messages.id, id))).get();
}

export async function findMessagesByIds(db: Db, ids: string[]): Promise<MessageRow[]> {
  const rows: MessageRow[] = [];
  for (const part of chunks(ids)) rows.push(...(await db.select().from(messages).where(inArray(messages.id, part)).all()));
  return rows;
}

/** The outgoing or incoming row of this session with this WhatsApp message id, if any. */
export async function findMessageByProvider(db: Db, sessionRowId: string, providerMessageId: string): Promise<MessageRow | undefined> {
  return db
    .select()
    .from(messages)
    .where(and(eq(messages.whatsappSessionId, sessionRowId), eq(messages.providerMessageId, providerMessageId)))
    .get();
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
