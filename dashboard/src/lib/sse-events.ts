import { EventSourceParserStream } from "eventsource-parser/stream";

export interface SseEvent {
  id?: string;
  /** "message" when the server named none, as EventSource does. */
  event: string;
  data: string;
}

/** The events of a text/event-stream body, parsed by eventsource-parser; ends with the stream. */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  // (ReadableStream<BufferSource>: what TextDecoderStream accepts, in the DOM and Workers typings alike.)
  const reader = (body as ReadableStream<BufferSource>).pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield { id: value.id, event: value.event ?? "message", data: value.data };
    }
  } finally {
    // Left early (the caller stopped): close the request's body too.
    await reader.cancel().catch(() => undefined);
  }
}
