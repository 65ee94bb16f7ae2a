import { EventEmitter } from "node:events";
import { hardenBaileys } from "./baileys-hardening";
import { resolveSocketTarget, runWithNoiseRoot } from "./socket-target";

// Substitute for the `ws` package (wrangler resolves it to a browser stub that throws): the part
// of its client API Baileys uses (Socket/Client/websocket.js), on the Workers WebSocket client.
// The socket is opened with fetch + Upgrade rather than `new WebSocket()` so Origin can be sent,
// and so a Durable Object stub can be the peer (see socket-target.ts).

const DEFAULT_ORIGIN = "https://web.whatsapp.com";
/** How long to wait for the peer's close frame before reporting the socket closed anyway. */
const CLOSE_GRACE_MS = 2_000;

interface ClientOptions {
  origin?: string;
  headers?: Record<string, string>;
  handshakeTimeout?: number;
}

type Sendable = ArrayBuffer | ArrayBufferView | string;

/** A connection error as `ws` in Node reports it: Node's `code` (ECONNREFUSED, ENOTFOUND, ...). */
export type SocketError = Error & { code?: string; errno?: string; syscall?: string };

function socketError(message: string, code?: string): SocketError {
  const err: SocketError = new Error(message);
  if (code) Object.assign(err, { code, errno: code, syscall: "connect" });
  return err;
}

/**
 * Names a failure of fetch + Upgrade with the code Node would give it, so Baileys maps it as in
 * Node (an E-code becomes 408, see Utils/generics.js getCodeFromWSError). workerd's messages
 * ("Network connection lost.", "internal error", DNS and TLS text) carry no code of their own.
 */
export function connectErrorCode(err: unknown): string {
  const text = String((err as Error)?.message ?? err);
  if (/ENOTFOUND|EAI_AGAIN|DNS|resolve|not known|no such host|lookup/i.test(text)) return "ENOTFOUND";
  if (/timed? ?out|timeout/i.test(text)) return "ETIMEDOUT";
  if (/TLS|SSL|certificate|handshake failure/i.test(text)) return "EPROTO";
  if (/reset|connection lost|disconnected|broken pipe|EPIPE/i.test(text)) return "ECONNRESET";
  return "ECONNREFUSED";
}
type SendCallback = (err?: Error) => void;

/** Rejects with the signal's reason once it aborts (never resolves). */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

export default class WebSocket extends EventEmitter {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  readonly url: string;
  readyState = WebSocket.CONNECTING;
  private socket: globalThis.WebSocket | null = null;
  private noiseRoot: Uint8Array | null = null;
  private readonly abort = new AbortController();
  private closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(address: string | URL, protocols?: string | string[] | ClientOptions, options?: ClientOptions) {
    super();
    // Certificate checks must be real before any handshake can run.
    hardenBaileys();
    const url = new URL(String(address));
    this.url = url.toString();
    const opts = (typeof protocols === "object" && !Array.isArray(protocols) ? protocols : options) ?? {};
    const headers = new Headers(opts.headers ?? {});
    headers.set("Upgrade", "websocket");
    headers.set("Origin", opts.origin ?? DEFAULT_ORIGIN);
    // Throws synchronously for an unknown target, like `ws` does for a bad URL.
    const target = resolveSocketTarget(url);
    void this.open(target, url, headers, opts.handshakeTimeout);
  }

  private async open(
    target: ReturnType<typeof resolveSocketTarget>,
    url: URL,
    headers: Headers,
    handshakeTimeout: number | undefined,
  ): Promise<void> {
    const timer = handshakeTimeout
      ? setTimeout(() => this.abort.abort(socketError("Opening handshake has timed out", "ETIMEDOUT")), handshakeTimeout)
      : undefined;
    try {
      let connection: Awaited<ReturnType<typeof target.connect>>;
      try {
        // Raced against the abort: a target that ignores the signal (a hung sandbox object)
        // must not leave this socket CONNECTING after the handshake timeout or close().
        connection = await Promise.race([target.connect({ url, headers, signal: this.abort.signal }), aborted(this.abort.signal)]);
      } catch (err) {
        if (this.abort.signal.aborted) throw this.abort.signal.reason;
        const message = err instanceof Error ? err.message : String(err);
        throw socketError(message, connectErrorCode(err));
      }
      const { response, noiseRoot } = connection;
      const ws = response.webSocket;
      // `ws`'s own words (no code): Baileys then takes the HTTP status as the disconnect code.
      if (!ws) throw socketError(`Unexpected server response: ${response.status}`);
      this.noiseRoot = noiseRoot ?? null;
      // From compatibility date 2026-03-17 binary frames arrive as Blob unless asked otherwise.
      ws.binaryType = "arraybuffer";
      ws.accept();
      if (this.abort.signal.aborted) {
        ws.close(1000);
        throw this.abort.signal.reason ?? new Error("WebSocket was closed before the connection was established");
      }
      this.socket = ws;
      ws.addEventListener("message", (event) => {
        const binary = typeof event.data !== "string";
        const data = binary ? Buffer.from(event.data as ArrayBuffer) : Buffer.from(event.data as string);
        this.dispatch("message", data, binary);
      });
      ws.addEventListener("close", (event) => {
        // Complete the closing handshake if the runtime did not answer for us.
        try {
          ws.close(event.code === 1005 ? 1000 : event.code, event.reason);
        } catch {}
        this.finish(event.code, event.reason);
      });
      ws.addEventListener("error", () => {
        // As `ws` does when its TCP socket fails after the upgrade (ECONNRESET, "Network
        // connection lost"): no 'error' event, only 'close' with 1006 (abnormal closure).
        this.finish(1006, "");
      });
      this.readyState = WebSocket.OPEN;
      this.dispatch("open");
    } catch (err) {
      this.readyState = WebSocket.CLOSED;
      this.dispatch("error", err instanceof Error ? err : new Error(String(err)));
      this.finish(1006, "");
    } finally {
      clearTimeout(timer);
    }
  }

  /** Emits inside this socket's trust context (see baileys-hardening.ts). */
  private dispatch(event: string, ...args: unknown[]): void {
    if (event === "error" && this.listenerCount("error") === 0) return;
    runWithNoiseRoot(this.noiseRoot, () => this.emit(event, ...args));
  }

  private closed = false;
  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.closeTimer);
    this.readyState = WebSocket.CLOSED;
    this.socket = null;
    this.dispatch("close", code, Buffer.from(reason ?? ""));
  }

  send(data: Sendable, optionsOrCb?: object | SendCallback, cb?: SendCallback): void {
    const callback = typeof optionsOrCb === "function" ? (optionsOrCb as SendCallback) : cb;
    const fail = (err: Error) => {
      if (!callback) throw err;
      queueMicrotask(() => callback(err));
    };
    if (this.readyState !== WebSocket.OPEN || !this.socket) {
      return fail(new Error(`WebSocket is not open: readyState ${this.readyState}`));
    }
    try {
      this.socket.send(data);
    } catch (err) {
      // The runtime refuses to send on a socket its peer dropped, sometimes before (or without)
      // a close event: report the close now rather than at Baileys' keep-alive minutes later,
      // and let go of the runtime socket (it would otherwise stay open with no one reading it).
      const socket = this.socket;
      try {
        socket.close(1011, "send failed");
      } catch {}
      queueMicrotask(() => this.finish(1006, ""));
      return fail(socketError(err instanceof Error ? err.message : String(err), "EPIPE"));
    }
    if (callback) queueMicrotask(() => callback());
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState === WebSocket.CLOSED || this.readyState === WebSocket.CLOSING) return;
    if (this.readyState === WebSocket.CONNECTING || !this.socket) {
      this.readyState = WebSocket.CLOSING;
      this.abort.abort(new Error("WebSocket was closed before the connection was established"));
      return;
    }
    this.readyState = WebSocket.CLOSING;
    try {
      this.socket.close(code, reason);
    } catch {}
    // A peer that never answers must not leave Baileys waiting for 'close' forever.
    this.closeTimer = setTimeout(() => this.finish(1006, ""), CLOSE_GRACE_MS);
  }

  terminate(): void {
    try {
      this.socket?.close(1000);
    } catch {}
    if (this.readyState === WebSocket.CONNECTING) this.close();
    else this.finish(1006, "");
  }
}

export { WebSocket };
