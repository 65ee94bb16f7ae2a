import { AsyncLocalStorage } from "node:async_hooks";

// Where a Baileys socket connects and which Noise root it trusts.
// Baileys only takes a URL (`waWebSocketUrl`), so a target is registered here first and
// Baileys is given a URL naming it; the ws shim (src/runtime/ws.ts) looks the target up.

export interface SocketConnection {
  /** A 101 response carrying `webSocket` (from fetch or a Durable Object stub). */
  response: Response;
  /**
   * Noise root public key (32 bytes, as WA_CERT_DETAILS.PUBLIC_KEY) this socket trusts.
   * Omit for WhatsApp's genuine root.
   */
  noiseRoot?: Uint8Array;
}

export interface SocketTarget {
  connect(request: { url: URL; headers: Headers; signal: AbortSignal }): Promise<SocketConnection>;
}

/** Reserved host (RFC 2606 .invalid): never resolvable, so it can never reach the network. */
export const TARGET_HOST = "socket-target.invalid";

const targets = new Map<string, SocketTarget>();

export interface RegisteredTarget {
  /** Give this to makeWASocket as `waWebSocketUrl`. */
  url: string;
  release(): void;
}

/** Registers a target for one socket; `labels` only make the URL readable in logs. */
export function registerSocketTarget(target: SocketTarget, labels: Record<string, string> = {}): RegisteredTarget {
  const id = crypto.randomUUID();
  targets.set(id, target);
  const url = new URL(`wss://${TARGET_HOST}/ws/chat`);
  for (const [k, v] of Object.entries(labels)) url.searchParams.set(k, v);
  url.searchParams.set("target", id);
  return { url: url.toString(), release: () => void targets.delete(id) };
}

/** Default target: the URL itself over the network (wss → https), genuine WhatsApp root. */
const networkTarget: SocketTarget = {
  async connect({ url, headers, signal }) {
    const http = new URL(url);
    http.protocol = url.protocol === "ws:" ? "http:" : "https:";
    return { response: await fetch(http, { headers, signal }) };
  },
};

export function resolveSocketTarget(url: URL): SocketTarget {
  if (url.hostname === TARGET_HOST) {
    const target = targets.get(url.searchParams.get("target") ?? "");
    if (!target) throw new Error(`no socket target registered for ${url.toString()}`);
    return target;
  }
  if (url.protocol !== "wss:" && url.protocol !== "ws:") throw new Error(`unsupported WebSocket URL ${url.toString()}`);
  return networkTarget;
}

// Per-socket trust: the ws shim dispatches each socket's events inside this context, and
// promise continuations inherit it, so Baileys' handshake code sees its own socket's root.
interface SocketTrust {
  noiseRoot: Uint8Array | null;
}
const trustContext = new AsyncLocalStorage<SocketTrust>();

export function runWithNoiseRoot<T>(noiseRoot: Uint8Array | null, fn: () => T): T {
  return trustContext.run({ noiseRoot: noiseRoot ? Uint8Array.from(noiseRoot) : null }, fn);
}

/** The root the current socket trusts; null means WhatsApp's genuine root. */
export function currentNoiseRoot(): Uint8Array | null {
  return trustContext.getStore()?.noiseRoot ?? null;
}
