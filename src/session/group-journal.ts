import type { WebhookEventType } from "../domain/webhook-events";
import { now } from "../domain/time";
import { emitEvent, type EmitEnv } from "../events/emit";
import { log } from "../platform/log";
import type { SessionConfig } from "./session.types";

// Group events (group-events.ts makes them) are written to the object's SQLite first
// (group_event_journal, session.schema.ts), then emitted from there in order. A failed emit (D1
// down) keeps its row: the flush is tried again on a timer, and the object's `flush` task (the
// status flush's backstop, status-flush.ts) runs it even after an eviction. Each event's id is
// derived from the notification it came from, so a row emitted twice (a crash after D1 had its
// deliveries, a redelivered notification) is one event with one set of delivery rows (emit.ts).

export interface GroupEventRecord {
  eventId: string;
  type: WebhookEventType;
  data: Record<string, unknown>;
}

const RETRY_MS = 5_000;
/** The backstop's margin: the flush right after a write normally empties the journal first. */
const BACKSTOP_MS = 2 * RETRY_MS;

export class GroupJournal {
  private running: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly env: EmitEnv,
    private readonly sql: SqlStorage,
    private readonly config: () => SessionConfig | undefined,
    /** Arms the object's `flush` task, should the object be evicted before the journal empties. */
    private readonly backstop: (dueAt: number) => Promise<void>,
  ) {}

  /** Journals the events (a repeat of a journaled id adds nothing), then emits what the journal holds. */
  async add(events: GroupEventRecord[]): Promise<void> {
    if (events.length === 0) return;
    const at = now();
    for (const e of events) {
      this.sql.exec(
        "INSERT INTO group_event_journal (event_id, type, data, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING",
        e.eventId,
        e.type,
        JSON.stringify(e.data),
        at,
      );
    }
    await this.arm(Date.now() + BACKSTOP_MS);
    await this.flush();
  }

  /** Rows waiting for D1. */
  size(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM group_event_journal").one().n;
  }

  /** Emits the journal in order (one run at a time); never throws: a failure keeps the rows for a later flush. */
  async flush(): Promise<void> {
    this.running ??= this.emitAll().finally(() => (this.running = undefined));
    await this.running;
  }

  private async emitAll(): Promise<void> {
    const config = this.config();
    if (!config) return;
    const rows = this.sql
      .exec<{ seq: number; event_id: string; type: WebhookEventType; data: string; created_at: string }>(
        "SELECT seq, event_id, type, data, created_at FROM group_event_journal ORDER BY seq",
      )
      .toArray();
    for (const row of rows) {
      try {
        await emitEvent(this.env, {
          accountId: config.accountId,
          sessionId: config.id,
          type: row.type,
          eventId: row.event_id,
          createdAt: row.created_at,
          data: JSON.parse(row.data) as Record<string, unknown>,
        });
      } catch (err) {
        log.warn({ session: config.id, type: row.type, event: row.event_id, err }, "group event not emitted; kept for the next flush");
        this.retryLater();
        return;
      }
      this.sql.exec("DELETE FROM group_event_journal WHERE seq = ?", row.seq);
    }
  }

  private retryLater(): void {
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, RETRY_MS);
    }
    void this.arm(Date.now() + BACKSTOP_MS);
  }

  private async arm(dueAt: number): Promise<void> {
    await this.backstop(dueAt).catch((err: unknown) => log.warn({ err }, "group event backstop not armed"));
  }
}
