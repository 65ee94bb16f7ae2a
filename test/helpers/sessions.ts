import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { call } from "./api";
import { sandboxOf, sessionOf } from "./sandbox-client";

export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

/** Opens the session's SSE stream and collects events until `until` matches or the stream ends. */
export async function openStream(key: string, sessionId: string, headers: Record<string, string> = {}, query = "") {
  const response = await exports.default.fetch(
    new Request(`http://gateway.test/v1/whatsapp/sessions/${sessionId}/stream${query}`, {
      headers: { Authorization: `Bearer ${key}`, ...headers },
    }),
  );
  expect(response.status).toBe(200);
  expect(response.headers.get("Content-Type")).toContain("text/event-stream");
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let buffer = "";
  let ended = false;

  async function pump(until: (events: SseEvent[]) => boolean, timeoutMs: number): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!until(events)) {
      if (ended) throw new Error(`stream ended before the expected event; got ${JSON.stringify(events.map((e) => e.event))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting on the stream; got ${JSON.stringify(events.map((e) => e.event))}`);
      const chunk = await Promise.race([
        reader.read(),
        new Promise<"timeout">((r) => setTimeout(() => r("timeout"), left)),
      ]);
      if (chunk === "timeout") continue;
      if (chunk.done) {
        ended = true;
        continue;
      }
      buffer += decoder.decode(chunk.value, { stream: true });
      let index: number;
      while ((index = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, index);
        buffer = buffer.slice(index + 2);
        const event: SseEvent = { event: "message", data: undefined };
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) comments.push(line);
          else if (line.startsWith("id: ")) event.id = line.slice(4);
          else if (line.startsWith("event: ")) event.event = line.slice(7);
          else if (line.startsWith("data: ")) data.push(line.slice(6));
        }
        if (data.length) {
          event.data = JSON.parse(data.join("\n"));
          events.push(event);
        }
      }
    }
    return events;
  }

  return {
    events,
    comments,
    get ended() {
      return ended;
    },
    waitFor: (until: (events: SseEvent[]) => boolean, timeoutMs = 20_000) => pump(until, timeoutMs),
    /** Resolves once the server closes the stream. */
    waitForEnd: async (timeoutMs = 20_000) => {
      try {
        await pump(() => false, timeoutMs);
      } catch (err) {
        if (!ended) throw err;
      }
    },
    close: () => reader.cancel(),
  };
}

export async function createPhone(key: string, body: Record<string, unknown> = {}) {
  const res = await call("POST", "/v1/sandbox/phones", { key, body });
  expect(res.status, res.text).toBe(201);
  return res.json.phone as { phone_number: string; name: string; lid: string };
}

export async function createSandboxSession(key: string, body: Record<string, unknown> = {}) {
  const res = await call("POST", "/v1/whatsapp/sessions", { key, body: { sandbox: true, ...body } });
  expect(res.status, res.text).toBe(201);
  return res.json as { session: any; qr_code: string | null };
}

/** Polls GET /sessions/{id} until `match` holds. */
export async function waitForSession(key: string, id: string, match: (session: any) => boolean, timeoutMs = 20_000) {
  let last: any;
  await expect
    .poll(
      async () => {
        last = (await call("GET", `/v1/whatsapp/sessions/${id}`, { key })).json.session;
        return match(last);
      },
      { timeout: timeoutMs, interval: 100 },
    )
    .toBe(true);
  return last;
}

/** A sandbox session linked to a new sandbox phone. */
export async function linkedSession(key: string, body: Record<string, unknown> = {}) {
  const phone = await createPhone(key);
  const { session } = await createSandboxSession(key, body);
  const scan = await call("POST", `/v1/sandbox/sessions/${session.id}/scan`, { key, body: { phone_number: phone.phone_number } });
  expect(scan.status, scan.text).toBe(200);
  const linked = await waitForSession(key, session.id, (s) => s.status === "connected");
  return { phone, session: linked };
}

/** The session's Durable Object stub. */
export const sessionObject = sessionOf;

/** Sandbox events of one kind for this session, oldest first (`at` as epoch ms). */
export async function sandboxEventsOf(accountId: string, sessionId: string, kind: string) {
  const events = (await sandboxOf(accountId).events(1000)) as { at: string; kind: string; detail: any }[];
  return events.filter((e) => e.kind === kind && e.detail?.session === sessionId).map((e) => ({ ...e, at: Date.parse(e.at) }));
}

/** Logins the sandbox recorded for this session (one per successful login of its device). */
export async function logins(accountId: string, sessionId: string): Promise<number> {
  return (await sandboxEventsOf(accountId, sessionId, "login")).length;
}

/** Applies a sandbox fault to the session's connection. */
export async function fault(key: string, sessionId: string, body: Record<string, unknown>) {
  const res = await call("POST", `/v1/sandbox/sessions/${sessionId}/faults`, { key, body });
  expect(res.status, res.text).toBe(200);
}

/** What the session object recorded: its local state row and its schedule (kind → due epoch ms). */
export async function sessionFacts(sessionId: string) {
  return runInDurableObject(sessionObject(sessionId), (_, state) => {
    const row = state.storage.sql.exec<{ value: string }>("SELECT value FROM session_meta WHERE key = 'state'").toArray()[0];
    const schedule: Record<string, number> = {};
    for (const r of state.storage.sql.exec<{ kind: string; due_at: number }>("SELECT kind, due_at FROM schedule")) schedule[r.kind] = r.due_at;
    return { state: (row ? JSON.parse(row.value) : {}) as Record<string, any>, schedule };
  });
}

/** Overwrites fields of the session object's local state (as if earlier events had set them). */
export async function patchSessionState(sessionId: string, patch: Record<string, unknown>) {
  await runInDurableObject(sessionObject(sessionId), (_, state) => {
    const row = state.storage.sql.exec<{ value: string }>("SELECT value FROM session_meta WHERE key = 'state'").one();
    state.storage.sql.exec("UPDATE session_meta SET value = ? WHERE key = 'state'", JSON.stringify({ ...JSON.parse(row.value), ...patch }));
  });
}

/** Makes a task of the session's schedule due at `dueAt` (now by default). */
export async function setDue(sessionId: string, kind: string, dueAt = Date.now()) {
  await runInDurableObject(sessionObject(sessionId), (_, state) => {
    state.storage.sql.exec(
      "INSERT INTO schedule (kind, due_at) VALUES (?, ?) ON CONFLICT(kind) DO UPDATE SET due_at = excluded.due_at",
      kind,
      dueAt,
    );
  });
}

/** The session's SSE backlog from the start (the stream closes on its own after `timeout`). */
export async function streamEvents(key: string, sessionId: string) {
  const stream = await openStream(key, sessionId, { "Last-Event-ID": "0" }, "?timeout=5");
  await stream.waitForEnd();
  return stream.events;
}

/** The identity this session logs in with (its creds row), or null once wiped. */
export async function identity(sessionId: string): Promise<string | null> {
  return runInDurableObject(sessionObject(sessionId), (_, state) => {
    const row = state.storage.sql.exec<{ value: string }>("SELECT value FROM wa_auth_creds").toArray()[0];
    if (!row) return null;
    const creds = JSON.parse(row.value);
    return JSON.stringify({ me: creds.me?.id, noise: creds.noiseKey?.public, identity: creds.signedIdentityKey?.public });
  });
}
