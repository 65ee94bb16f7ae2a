import { describe, expect, it } from "vitest";
import { sseEvents, type SseEvent } from "../../dashboard/src/lib/sse-events";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function parse(chunks: string[]) {
  const events: SseEvent[] = [];
  for await (const e of sseEvents(streamOf(chunks))) events.push(e);
  return events;
}

// The parsing is eventsource-parser's; these check what the dashboard relies on from it.
describe("dashboard SSE events", () => {
  it("reads the session stream's named events with their ids, skipping retry and comments", async () => {
    const events = await parse(["retry: 3000\n\n", 'id: 1\nevent: status\ndata: {"status":"pending"}\n\n', ": heartbeat\n\n", 'id: 2\nevent: qr\ndata: {"qr":"a"}\n\n']);
    expect(events).toEqual([
      { id: "1", event: "status", data: '{"status":"pending"}' },
      { id: "2", event: "qr", data: '{"qr":"a"}' },
    ]);
  });

  it("joins an event split across chunks, in the middle of a line and of a CRLF", async () => {
    const events = await parse(["id: 7\r\nevent: conn", 'ected\r\ndata: {"phone_number":"1"}\r', "\n\r\n"]);
    expect(events).toEqual([{ id: "7", event: "connected", data: '{"phone_number":"1"}' }]);
  });

  it("names an unnamed event 'message', as EventSource does, and joins multi-line data", async () => {
    expect(await parse(["data: a\ndata:b\n\n"])).toEqual([{ id: undefined, event: "message", data: "a\nb" }]);
  });

  it("drops an event the stream ended before its blank line", async () => {
    expect(await parse(["event: qr\ndata: half"])).toEqual([]);
  });
});
