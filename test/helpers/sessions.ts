import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { call } from "./api";

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
