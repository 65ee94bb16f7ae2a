import type { SessionStatus } from "../domain/session-status";
import type { SessionConfig } from "./session.types";

// The object's own record of its config and state (JSON values in `session_meta`): written
// first, before D1 and the stream hear of a change (status-reporter.ts).

export interface SessionState {
  status: SessionStatus;
  reason: string | null;
  phoneNumber: string | null;
  displayName: string | null;
  /** Whether the object should hold a socket (false after disconnect, logout, ban, ...). */
  running: boolean;
  /** on_demand: the socket is closed on purpose between bursts. */
  sleeping: boolean;
  attempts: number;
  /** When the current socket logged in (epoch ms); null while none is logged in. */
  openedAt: number | null;
  /** A 515 restart was taken since the last login: the next one goes through the backoff. */
  restarted: boolean;
  /** End of a temporary ban (ISO), while one holds. */
  bannedUntil: string | null;
}

export const INITIAL_STATE: SessionState = {
  status: "pending",
  reason: null,
  phoneNumber: null,
  displayName: null,
  running: false,
  sleeping: false,
  attempts: 0,
  openedAt: null,
  restarted: false,
  bannedUntil: null,
};

export class SessionMeta {
  /** Over the session object's SQLite, once its schema ran (session.schema.ts). */
  constructor(private readonly sql: SqlStorage) {}

  config(): SessionConfig | undefined {
    return this.read<SessionConfig>("config");
  }

  setConfig(config: SessionConfig): void {
    this.write("config", config);
  }

  state(): SessionState {
    return { ...INITIAL_STATE, ...this.read<Partial<SessionState>>("state") };
  }

  writeState(state: SessionState): void {
    this.write("state", state);
  }

  private read<T>(key: string): T | undefined {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM session_meta WHERE key = ?", key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  private write(key: string, value: unknown): void {
    this.sql.exec(
      "INSERT INTO session_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      key,
      JSON.stringify(value),
    );
  }
}
