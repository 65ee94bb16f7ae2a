import { and, count, desc, eq, or, sql } from "drizzle-orm";
import type { ConnectionMode, SessionStatus } from "../domain/session-status";
import { now } from "../domain/time";
import type { Db } from "./client";
import { chats, contacts, sessions } from "./schema";

export type SessionRow = typeof sessions.$inferSelect;

export function newSessionRow(input: {
  accountId: string;
  name?: string | null;
  sandbox: boolean;
  connectionMode: ConnectionMode;
  settings: Record<string, unknown>;
}): SessionRow {
  const id = crypto.randomUUID();
  const at = now();
  return {
    id,
    accountId: input.accountId,
    sessionId: `session_${id}`,
    name: input.name ?? null,
    phoneNumber: null,
    displayName: null,
    status: "pending",
    reason: null,
    bannedUntil: null,
    sandbox: input.sandbox,
    connectionMode: input.connectionMode,
    settings: input.settings,
    lastSeenAt: at,
    createdAt: at,
    updatedAt: at,
  };
}

export async function listSessions(db: Db, accountId: string): Promise<SessionRow[]> {
  return db.select().from(sessions).where(eq(sessions.accountId, accountId)).orderBy(desc(sessions.createdAt)).all();
}

/** By uuid or by the `session_...` string (the API accepts either), within the account. */
export async function findSession(db: Db, accountId: string, idOrSessionId: string): Promise<SessionRow | undefined> {
  return db
    .select()
    .from(sessions)
    .where(and(eq(sessions.accountId, accountId), or(eq(sessions.id, idOrSessionId), eq(sessions.sessionId, idOrSessionId))))
    .get();
}

export async function countAccountSessions(db: Db, accountId: string): Promise<number> {
  const row = await db.select({ n: count() }).from(sessions).where(eq(sessions.accountId, accountId)).get();
  return row?.n ?? 0;
}

export interface SessionStatePatch {
  status?: SessionStatus;
  reason?: string | null;
  bannedUntil?: string | null;
  phoneNumber?: string | null;
  displayName?: string | null;
  lastSeenAt?: string;
}

export async function updateSessionState(db: Db, id: string, patch: SessionStatePatch): Promise<void> {
  await db
    .update(sessions)
    .set({ ...patch, updatedAt: now() })
    .where(eq(sessions.id, id));
}

/** Whether the row of this session (by its uuid) still exists. */
export async function sessionRowExists(db: Db, id: string): Promise<boolean> {
  return (await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, id)).get()) !== undefined;
}

/** Deletes the row with what the session learned of people and chats (its messages stay readable). */
export async function deleteSession(db: Db, accountId: string, id: string): Promise<void> {
  // Guarded by the account before the row goes: contacts and chats carry only the session id.
  const owned = sql`EXISTS (SELECT 1 FROM sessions WHERE id = ${id} AND account_id = ${accountId})`;
  await db.batch([
    db.delete(contacts).where(and(eq(contacts.sessionId, id), owned)),
    db.delete(chats).where(and(eq(chats.sessionId, id), owned)),
    db.delete(sessions).where(and(eq(sessions.id, id), eq(sessions.accountId, accountId))),
  ]);
}

/**
 * Inserts the row only while the account has fewer than `maxSessions` sessions (null: no
 * limit), in one statement, so concurrent creates cannot overshoot. False when the limit holds.
 */
export async function insertSessionWithinLimit(db: Db, row: SessionRow, maxSessions: number | null): Promise<boolean> {
  const result = await db.run(sql`
    INSERT INTO sessions (id, account_id, session_id, name, status, sandbox, connection_mode, settings, last_seen_at, created_at, updated_at)
    SELECT ${row.id}, ${row.accountId}, ${row.sessionId}, ${row.name}, 'pending', ${row.sandbox ? 1 : 0}, ${row.connectionMode},
           ${JSON.stringify(row.settings)}, ${row.createdAt}, ${row.createdAt}, ${row.createdAt}
    WHERE ${maxSessions} IS NULL OR (SELECT count(*) FROM sessions WHERE account_id = ${row.accountId}) < ${maxSessions}`);
  return result.meta.changes > 0;
}
