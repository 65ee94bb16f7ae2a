import { and, asc, eq, exists, gt, inArray, isNotNull, lt, or, sql, type AnyColumn, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { now } from "../domain/time";
import type { Db } from "./client";
import { contacts, sessions } from "./schema";

// The people a session knows (contacts table). Writes merge: a fact left out (null) keeps what
// the row knew, so a push name never erases a saved name; a LID's row joins its number's row once
// the number is known. The list is one query that also tells whether the account has the session
// (a LEFT JOIN from `sessions`).

export type ContactRow = typeof contacts.$inferSelect;

/** What one source knows about one person; `phoneNumber` (digits) or `lid` must be set. */
export interface ContactFacts {
  phoneNumber: string | null;
  lid: string | null;
  name?: string | null;
  pushName?: string | null;
  verifiedName?: string | null;
  business?: boolean | null;
}

// D1 binds at most 100 parameters per statement: 9 columns a row.
const ROWS_PER_STATEMENT = 10;
const keep = (column: string) => sql.raw(`coalesce(excluded.${column}, contacts.${column})`);

export const contactKeyOf = (f: { phoneNumber: string | null; lid: string | null }): string | null => f.phoneNumber ?? f.lid;

/** Stores the facts in one D1 batch (no trip when there is nothing to store). */
export async function upsertContacts(db: Db, sessionId: string, facts: ContactFacts[]): Promise<void> {
  const at = now();
  const rows = facts.flatMap((f) => {
    const contactKey = contactKeyOf(f);
    if (!contactKey) return [];
    return [{ sessionId, contactKey, phoneNumber: f.phoneNumber, lid: f.lid, name: f.name ?? null, pushName: f.pushName ?? null, verifiedName: f.verifiedName ?? null, business: f.business ?? null, updatedAt: at }];
  });
  if (rows.length === 0) return;
  const statements = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    statements.push(
      db
        .insert(contacts)
        .values(rows.slice(i, i + ROWS_PER_STATEMENT))
        .onConflictDoUpdate({
          target: [contacts.sessionId, contacts.contactKey],
          set: {
            phoneNumber: keep("phone_number"),
            lid: keep("lid"),
            name: keep("name"),
            pushName: keep("push_name"),
            verifiedName: keep("verified_name"),
            business: keep("business"),
            updatedAt: at,
          },
        }),
    );
  }
  const lids = [...new Set(rows.flatMap((r) => (r.lid ? [r.lid] : [])))];
  const batch = [...statements, ...foldLidRows(db, sessionId, lids)];
  await db.batch(batch as [(typeof batch)[0], ...typeof batch]);
}

// Keys per fold statement (D1's 100 bound parameters).
const LIDS_PER_STATEMENT = 90;

/**
 * A person first known only by LID has a row keyed by the LID; once a row with their number names
 * that LID, the LID row is folded into it (its facts fill what the number's row lacks, or replace
 * them when the LID row is as new or newer) and deleted, so the list shows each person once.
 */
function foldLidRows(db: Db, sessionId: string, lids: string[]) {
  const l = alias(contacts, "l");
  const p = alias(contacts, "p");
  const pick = (mine: AnyColumn, theirs: AnyColumn) =>
    sql`CASE WHEN ${l.updatedAt} >= ${contacts.updatedAt} THEN coalesce(${theirs}, ${mine}) ELSE coalesce(${mine}, ${theirs}) END`;
  const out = [];
  for (let i = 0; i < lids.length; i += LIDS_PER_STATEMENT) {
    const keys = lids.slice(i, i + LIDS_PER_STATEMENT);
    out.push(
      db
        .update(contacts)
        .set({ name: pick(contacts.name, l.name), pushName: pick(contacts.pushName, l.pushName), verifiedName: pick(contacts.verifiedName, l.verifiedName), business: pick(contacts.business, l.business) })
        .from(l)
        .where(and(eq(contacts.sessionId, sessionId), inArray(contacts.lid, keys), isNotNull(contacts.phoneNumber), eq(l.sessionId, contacts.sessionId), eq(l.contactKey, contacts.lid))),
      db
        .delete(contacts)
        .where(
          and(
            eq(contacts.sessionId, sessionId),
            inArray(contacts.contactKey, keys),
            exists(db.select({ x: sql`1` }).from(p).where(and(eq(p.sessionId, contacts.sessionId), eq(p.lid, contacts.contactKey), isNotNull(p.phoneNumber)))),
          ),
        ),
    );
  }
  return out;
}

export interface ContactPage {
  /** False when the account has no such session. */
  found: boolean;
  rows: ContactRow[];
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** One page of a session's contacts by key, after `after`; `search` matches names and number. */
export async function listContacts(db: Db, accountId: string, sessionParam: string, opts: { limit: number; after: string | null; search: string | null }): Promise<ContactPage> {
  const on: SQL[] = [eq(contacts.sessionId, sessions.id)];
  if (opts.after) on.push(gt(contacts.contactKey, opts.after));
  if (opts.search) {
    const pattern = `%${escapeLike(opts.search)}%`;
    const likeOf = (column: AnyColumn) => sql`${column} LIKE ${pattern} ESCAPE '\\'`;
    on.push(or(likeOf(contacts.name), likeOf(contacts.pushName), likeOf(contacts.verifiedName), likeOf(contacts.contactKey))!);
  }
  const found = await db
    .select({ sessionRow: sessions.id, contact: contacts })
    .from(sessions)
    .leftJoin(contacts, and(...on))
    .where(and(eq(sessions.accountId, accountId), or(eq(sessions.id, sessionParam), eq(sessions.sessionId, sessionParam))))
    .orderBy(asc(contacts.contactKey))
    .limit(opts.limit)
    .all();
  return { found: found.length > 0, rows: found.flatMap((r) => (r.contact ? [r.contact] : [])) };
}

/** Forgets what a session knew before `at` (a new login: it may be another WhatsApp account). */
export async function forgetContactsBefore(db: Db, sessionId: string, at: string): Promise<void> {
  await db.delete(contacts).where(and(eq(contacts.sessionId, sessionId), lt(contacts.updatedAt, at)));
}

/** One contact of a session by number. */
export async function findContact(db: Db, sessionId: string, phoneNumber: string): Promise<ContactRow | undefined> {
  return db.select().from(contacts).where(and(eq(contacts.sessionId, sessionId), eq(contacts.phoneNumber, phoneNumber))).get();
}
