import { authHeaders, failure } from "./api";
import { sseEvents, type SseEvent } from "./sse-events";

export type { SseEvent };

/**
 * Reads a Server-Sent Events stream with fetch, because EventSource cannot send the Bearer
 * header and the key must never go into a URL. Resolves with the last event id when the server
 * closes the stream; a refused key (401) signs out, like any other call.
 */
export async function readSse(path: string, onEvent: (event: SseEvent) => void, signal: AbortSignal, lastEventId?: string): Promise<string | undefined> {
  const headers = { ...authHeaders(), Accept: "text/event-stream", ...(lastEventId ? { "Last-Event-ID": lastEventId } : {}) };
  const response = await fetch(path, { headers, signal });
  if (!response.ok || !response.body) throw await failure(response);
  let lastId = lastEventId;
  for await (const event of sseEvents(response.body)) {
    lastId = event.id ?? lastId;
    onEvent(event);
  }
  return lastId;
}
