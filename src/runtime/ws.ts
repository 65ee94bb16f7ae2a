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
type SendCallback = (err?: Error) => void;

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
      ? setTimeout(() => this.abort.abort(new Error("Opening handshake has timed out")), handshakeTimeout)
      : undefined;
    try {
      const { response, noiseRoot } = await target.connect({ url, headers, signal: this.abort.signal });
      const ws = response.webSocket;
      if (!ws) throw new Error(`Unexpected server response: ${response.status}`);
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
      ws.addEventListener("error", (event) => {
        if (this.readyState === WebSocket.CLOSED) return;
        this.readyState = WebSocket.CLOSED;
        this.dispatch("error", new Error((event as ErrorEvent).message || "WebSocket error"));
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
      return fail(err instanceof Error ? err : new Error(String(err)));
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
