import { BoundedCache } from "../domain/bounded-cache";
import type { Db } from "./client";
import { findSession, type SessionRow } from "./sessions.repo";

// Connected sessions as last read in this isolate, by account and the id the client used
// (uuid or `session_…`). Only for the accept batch, which re-checks each session it writes for
// (still the account's, connected, same number); a refusal there drops the entries.

const MAX_SESSIONS = 1000;
const MAX_AGE_MS = 60_000;
const sessions = new BoundedCache<SessionRow>(MAX_SESSIONS, MAX_AGE_MS);

const keyOf = (accountId: string, ref: string) => `${accountId}\n${ref}`;

/** The session from the cache when `cached`, else from D1; only a connected one is kept. */
export async function findSessionForSend(db: Db, accountId: string, ref: string, cached: boolean): Promise<SessionRow | undefined> {
  const hit = cached ? sessions.get(keyOf(accountId, ref)) : undefined;
  if (hit) return hit;
  const row = await findSession(db, accountId, ref);
  if (row?.status === "connected") sessions.set(keyOf(accountId, ref), row);
  else sessions.delete(keyOf(accountId, ref));
  return row;
}

export const forgetAccountSessions = (accountId: string): void => sessions.deleteWhere((s) => s.accountId === accountId);
