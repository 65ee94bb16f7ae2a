import type { WASocket } from "baileys";

// The server's ack of each message stanza we send: `<ack class="message" id=… [error=code]>`.
// A message is `sent` only once the server acked it (writing the frame proves nothing), and an
// ack with an `error` is a refusal (docs/protocol/sending.md). Baileys emits every frame whose id
// matches on the ws as `TAG:<id>` (Socket/socket.js onMessageReceived), before its own handlers.
//
// Receipts of a message can overtake its ack (the server holds the ack, the phone answers at
// once). From the moment the frame is expected, receipts of that id wait until the sender has
// recorded the outcome in D1 (`settled`), or a `delivered` would find no `sent` row to move.
// A receipt seen before the ack is itself proof that the server accepted the message: the
// waiting sender takes it as the ack (a refused message is never delivered, so has no receipt).

/** `receipt`: no ack yet, but a receipt of the message arrived. */
export type ServerAck = { error: string | null; via?: "receipt" } | "timeout";

interface AckFrame {
  tag?: string;
  attrs?: Record<string, string>;
}

interface InFlight {
  recorded: Promise<void>;
  /** Resolves the sender's wait as accepted (a receipt arrived first). */
  accept: () => void;
}

export class ServerAcks {
  /** Messages whose frame is out and whose outcome the sender has not recorded yet, by WhatsApp id. */
  private readonly inFlight = new Map<string, InFlight>();

  /**
   * Starts listening for the ack of `waId` (call before sending: the ack may come before the
   * send call returns). `ack` resolves with the ack's error code, "timeout" after `timeoutMs`,
   * or rejects when the socket closes first. Call `done()` once the outcome is recorded.
   */
  expect(socket: WASocket, waId: string, timeoutMs: number): { ack: Promise<ServerAck>; done: () => void } {
    const ws = socket.ws;
    let finish!: () => void;
    const recorded = new Promise<void>((resolve) => (finish = resolve));
    let cleanup = () => {};
    let accept = () => {};
    const ack = new Promise<ServerAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        resolve("timeout");
      }, timeoutMs);
      const onFrame = (frame: AckFrame) => {
        // Receipts carry the same id: only the server's message ack counts.
        if (frame?.tag !== "ack" || frame.attrs?.class !== "message") return;
        cleanup();
        resolve({ error: frame.attrs.error ?? null });
      };
      const onClose = () => {
        cleanup();
        reject(new Error("connection closed before the server acked the message"));
      };
      accept = () => {
        cleanup();
        resolve({ error: null, via: "receipt" });
      };
      cleanup = () => {
        clearTimeout(timer);
        ws.off(`TAG:${waId}`, onFrame);
        ws.off("close", onClose);
      };
      ws.on(`TAG:${waId}`, onFrame);
      ws.on("close", onClose);
    });
    // The socket may close while the send itself fails: nobody awaits the ack then.
    ack.catch(() => {});
    // Before the frame is written: a receipt can only follow the frame, and must find the id here.
    const entry: InFlight = { recorded, accept: () => accept() };
    this.inFlight.set(waId, entry);
    const done = () => {
      cleanup();
      finish();
      if (this.inFlight.get(waId) === entry) this.inFlight.delete(waId);
    };
    return { ack, done };
  }

  /**
   * Receipts of these ids arrived: each one still in flight counts as accepted by the server,
   * and this waits until the sender recorded it.
   */
  async settled(waIds: Iterable<string>): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const id of waIds) {
      const entry = this.inFlight.get(id);
      if (!entry) continue;
      entry.accept();
      pending.push(entry.recorded);
    }
    if (pending.length > 0) await Promise.all(pending);
  }
}
