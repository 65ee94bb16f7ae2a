import { database } from "../db/client";
import { findSession, type SessionRow } from "../db/sessions.repo";
import type { SessionConfig } from "../session/session.types";
import { notFound } from "./errors";

// The account's session row behind a `{id}` path parameter, and the config its object runs with.

const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const DEFAULT_WAKE_INTERVAL_MS = 15 * 60_000;

export function sessionConfig(row: SessionRow): SessionConfig {
  const settings = row.settings as { idle_timeout_ms?: number; wake_interval_ms?: number; qr_timeout_ms?: number; browser?: string };
  return {
    id: row.id,
    accountId: row.accountId,
    sessionId: row.sessionId,
    sandbox: row.sandbox,
    connectionMode: row.connectionMode,
    idleTimeoutMs: settings.idle_timeout_ms ?? DEFAULT_IDLE_TIMEOUT_MS,
    wakeIntervalMs: settings.wake_interval_ms ?? DEFAULT_WAKE_INTERVAL_MS,
    qrTimeoutMs: settings.qr_timeout_ms,
    browser: settings.browser,
  };
}

export async function loadSession(env: Env, accountId: string, id: string): Promise<SessionRow> {
  const row = await findSession(database(env), accountId, id);
  if (!row) throw notFound("Session");
  return row;
}
