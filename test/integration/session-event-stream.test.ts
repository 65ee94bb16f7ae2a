import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { EventStream, KEEP_EVENTS } from "../../src/session/event-stream";

// The session's SSE stream on a real object's SQLite: events are numbered and kept (the last
// KEEP_EVENTS), and a subscriber that names the last event it saw gets every later one.

function freshStub(name: string) {
  return env.SESSION.get(env.SESSION.idFromName(`stream-part-${name}-${crypto.randomUUID()}`));
}

interface Parsed {
  id: number;
  event: string;
  data: unknown;
}

function parse(text: string): Parsed[] {
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("id: "))
    .map((block) => {
      const lines = block.split("\n");
      const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
      return { id: Number(lines[0].slice(4)), event: lines[1].slice(7), data: JSON.parse(data.join("\n")) };
    });
}

/** Reads the stream until `done` holds for the events so far, then lets it go. */
async function readUntil(response: Response, done: (events: Parsed[]) => boolean): Promise<{ text: string; events: Parsed[] }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
    if (done(parse(text))) break;
  }
  await reader.cancel();
  return { text, events: parse(text) };
}

describe("session event stream", () => {
  it("numbers and keeps what it publishes; the latest of a name is at hand", () =>
    runInDurableObject(freshStub("append"), (_instance, state) => {
      const stream = new EventStream(state.storage.sql);
      stream.publish("status", { status: "pending", reason: null });
      stream.publish("qr", { qr: "first" });
      stream.publish("qr", { qr: "second" });
      const rows = state.storage.sql.exec<{ id: number; name: string; data: string }>("SELECT id, name, data FROM stream_events ORDER BY id").toArray();
      expect(rows.map((r) => [r.name, JSON.parse(r.data)])).toEqual([
        ["status", { status: "pending", reason: null }],
        ["qr", { qr: "first" }],
        ["qr", { qr: "second" }],
      ]);
      expect(rows[1].id).toBe(rows[0].id + 1);
      expect(rows[2].id).toBe(rows[1].id + 1);
      expect(stream.latest("qr")).toEqual({ id: rows[2].id, name: "qr", data: JSON.stringify({ qr: "second" }) });
      expect(stream.latest("status")?.id).toBe(rows[0].id);
      expect(stream.latest("error")).toBeUndefined();
    }));

  it(`keeps only the last ${KEEP_EVENTS} events`, () =>
    runInDurableObject(freshStub("trim"), (_instance, state) => {
      const stream = new EventStream(state.storage.sql);
      for (let i = 1; i <= KEEP_EVENTS + 5; i++) stream.publish("status", { n: i });
      const kept = state.storage.sql.exec<{ n: number; first: number; last: number }>("SELECT count(*) AS n, min(id) AS first, max(id) AS last FROM stream_events").one();
      expect(kept.n).toBe(KEEP_EVENTS);
      expect(kept.last - kept.first + 1).toBe(KEEP_EVENTS);
      const oldest = state.storage.sql.exec<{ data: string }>("SELECT data FROM stream_events ORDER BY id LIMIT 1").one();
      expect(JSON.parse(oldest.data)).toEqual({ n: 6 });
    }));

  it("replays what came after Last-Event-ID through the object's /stream, then goes on live", async () => {
    const stub = freshStub("replay");
    const ids = await runInDurableObject(stub, (instance) => {
      const stream = (instance as unknown as { stream: EventStream }).stream;
      for (let i = 1; i <= 4; i++) stream.publish("status", { status: "pending", reason: `r${i}` });
      return state(instance).sql.exec<{ id: number }>("SELECT id FROM stream_events ORDER BY id").toArray().map((r) => r.id);
    });
    const response = await stub.fetch("https://session/stream?timeout=30", { headers: { "Last-Event-ID": String(ids[1]) } });
    expect(response.headers.get("Content-Type")).toContain("text/event-stream");
    const reading = readUntil(response, (events) => events.some((e) => e.event === "error"));
    // A live event after the replay reaches the same subscriber.
    await runInDurableObject(stub, async (instance) => {
      const stream = (instance as unknown as { stream: EventStream }).stream;
      await expect.poll(() => stream.size).toBe(1);
      stream.publish("error", { code: "live" });
    });
    const { text, events } = await reading;
    expect(text.startsWith("retry: 3000\n\n")).toBe(true);
    expect(events.map((e) => [e.id, e.event, e.data])).toEqual([
      [ids[2], "status", { status: "pending", reason: "r3" }],
      [ids[3], "status", { status: "pending", reason: "r4" }],
      [ids[3] + 1, "error", { code: "live" }],
    ]);
  });

  it("replays from the start when Last-Event-ID is older than anything kept, and ends after `connected`", () =>
    runInDurableObject(freshStub("connected"), async (_instance, state) => {
      const stream = new EventStream(state.storage.sql);
      stream.publish("qr", { qr: "a" });
      stream.publish("connected", { phone_number: "22997000000", display_name: null });
      const { events } = await readUntil(stream.subscribe(0, [], 30_000), () => false);
      expect(events.map((e) => e.event)).toEqual(["qr", "connected"]);
      // The subscriber was let go once it had `connected`: nothing stays subscribed.
      expect(stream.size).toBe(0);
    }));

  it("without Last-Event-ID sends the given current state instead of the backlog", () =>
    runInDurableObject(freshStub("initial"), async (_instance, state) => {
      const stream = new EventStream(state.storage.sql);
      stream.publish("status", { status: "pending", reason: null });
      stream.publish("qr", { qr: "a" });
      const qr = stream.latest("qr")!;
      const response = stream.subscribe(null, [qr], 30_000);
      const { events } = await readUntil(response, (e) => e.length > 0);
      expect(events).toEqual([{ id: qr.id, event: "qr", data: { qr: "a" } }]);
      stream.closeAll();
      expect(stream.size).toBe(0);
    }));
});

function state(instance: unknown): DurableObjectStorage {
  return (instance as { ctx: DurableObjectState }).ctx.storage;
}
