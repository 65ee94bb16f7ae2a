import type { StreamEventName } from "./session.types";

// Server-Sent Events for a session: every event is numbered and kept (the last
// KEEP_EVENTS) in the object's SQLite, so a client reconnecting with Last-Event-ID
// gets what it missed, even across an eviction. Several subscribers at once.

/** Events kept for Last-Event-ID replay. */
export const KEEP_EVENTS = 200;
export const HEARTBEAT_MS = 15_000;
const encoder = new TextEncoder();

interface Subscriber {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  timer: ReturnType<typeof setTimeout>;
}

export interface StoredEvent {
  id: number;
  name: StreamEventName;
  data: string;
}

export function formatEvent(event: StoredEvent): string {
  const lines = event.data.split("\n").map((l) => `data: ${l}`).join("\n");
  return `id: ${event.id}\nevent: ${event.name}\n${lines}\n\n`;
}

export class EventStream {
  private readonly subscribers = new Set<Subscriber>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;

  /** Over the session object's SQLite, once its schema ran (session.schema.ts). */
  constructor(private readonly sql: SqlStorage) {}

  get size(): number {
    return this.subscribers.size;
  }

  /** Records an event and pushes it to every subscriber; `connected` ends the streams. */
  publish(name: StreamEventName, payload: unknown): void {
    const data = JSON.stringify(payload);
    const row = this.sql
      .exec<{ id: number }>("INSERT INTO stream_events (name, data, created_at) VALUES (?, ?, ?) RETURNING id", name, data, Date.now())
      .one();
    this.sql.exec("DELETE FROM stream_events WHERE id <= ?", row.id - KEEP_EVENTS);
    const chunk = formatEvent({ id: row.id, name, data });
    for (const sub of this.subscribers) void this.write(sub, chunk);
    if (name === "connected") for (const sub of [...this.subscribers]) this.close(sub);
  }

  /**
   * A new subscriber. With Last-Event-ID it gets every later event; without, `initial`
   * (the current state: latest QR, status) so a fresh page can render at once.
   */
  subscribe(lastEventId: number | null, initial: StoredEvent[], timeoutMs: number): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const sub: Subscriber = { writer, timer: setTimeout(() => this.close(sub), timeoutMs) };
    this.subscribers.add(sub);

    const backlog =
      lastEventId === null
        ? initial
        : this.sql
            .exec<{ id: number; name: StreamEventName; data: string }>(
              "SELECT id, name, data FROM stream_events WHERE id > ? ORDER BY id",
              lastEventId,
            )
            .toArray();
    void this.write(sub, `retry: 3000\n\n${backlog.map(formatEvent).join("")}`);
    if (backlog.some((e) => e.name === "connected")) this.close(sub);
    this.ensureHeartbeat();

    return new Response(readable, {
      headers: {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache, no-transform",
        Connection: "keep-alive",
      },
    });
  }

  latest(name: StreamEventName): StoredEvent | undefined {
    return this.sql
      .exec<{ id: number; name: StreamEventName; data: string }>(
        "SELECT id, name, data FROM stream_events WHERE name = ? ORDER BY id DESC LIMIT 1",
        name,
      )
      .toArray()[0];
  }

  closeAll(): void {
    for (const sub of [...this.subscribers]) this.close(sub);
  }

  private async write(sub: Subscriber, text: string): Promise<void> {
    try {
      await sub.writer.write(encoder.encode(text));
    } catch {
      // The client went away.
      this.close(sub);
    }
  }

  private close(sub: Subscriber): void {
    if (!this.subscribers.delete(sub)) return;
    clearTimeout(sub.timer);
    sub.writer.close().catch(() => {});
    if (this.subscribers.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  private ensureHeartbeat(): void {
    this.heartbeat ??= setInterval(() => {
      for (const sub of this.subscribers) void this.write(sub, ": heartbeat\n\n");
    }, HEARTBEAT_MS);
  }
}
