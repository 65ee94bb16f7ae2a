// One alarm serves a table of due tasks (reconnect backoff, on_demand idle close and
// periodic wake, outbox pacing, reconcile with D1 after a wake, the status flush a crash or eviction missed): the alarm is always set to the earliest due time.

export type TaskKind = "reconnect" | "idle" | "wake" | "outbox" | "reconcile" | "flush";

export interface DueTask {
  kind: TaskKind;
  dueAt: number;
}

export class Schedule {
  /** Over the session object's storage (its alarm), once its schema ran (session.schema.ts). */
  constructor(private readonly storage: DurableObjectStorage) {}

  async set(kind: TaskKind, dueAt: number): Promise<void> {
    this.storage.sql.exec(
      "INSERT INTO schedule (kind, due_at) VALUES (?, ?) ON CONFLICT(kind) DO UPDATE SET due_at = excluded.due_at",
      kind,
      Math.round(dueAt),
    );
    await this.syncAlarm();
  }

  async clear(...kinds: TaskKind[]): Promise<void> {
    for (const kind of kinds) this.storage.sql.exec("DELETE FROM schedule WHERE kind = ?", kind);
    await this.syncAlarm();
  }

  has(kind: TaskKind): boolean {
    return this.storage.sql.exec("SELECT 1 FROM schedule WHERE kind = ?", kind).toArray().length > 0;
  }

  /** Removes and returns the tasks due by `at`, earliest first. */
  takeDue(at = Date.now()): DueTask[] {
    return this.storage.sql
      .exec<{ kind: TaskKind; due_at: number }>("DELETE FROM schedule WHERE due_at <= ? RETURNING kind, due_at", at)
      .toArray()
      .sort((a, b) => a.due_at - b.due_at)
      .map((r) => ({ kind: r.kind, dueAt: r.due_at }));
  }

  async syncAlarm(): Promise<void> {
    const next = this.storage.sql.exec<{ at: number | null }>("SELECT min(due_at) AS at FROM schedule").one().at;
    if (next === null) await this.storage.deleteAlarm();
    else await this.storage.setAlarm(next);
  }
}
