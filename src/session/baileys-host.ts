import makeWASocket, { type BaileysEventMap, type proto, type UserFacingSocketConfig, type WASocket, type WAMessageKey } from "baileys";
import { browserTuple, DEFAULT_BROWSER } from "../domain/browser";
import { hardenBaileys } from "../runtime/baileys-hardening";
import { fixBufferWrites } from "../runtime/buffer-compat";
import { SANDBOX_MEDIA_HEADER, registerMediaTarget, sandboxMediaHost, sandboxMediaMarker } from "../runtime/media-target";
import { registerSocketTarget, type RegisteredTarget, type SocketTarget } from "../runtime/socket-target";
import { createSqliteAuthState, type SqliteAuthState } from "./auth-state";
import { resendAllowed, type SentStore } from "./sent-store";
import { createLogger, log, type LogLevel } from "../platform/log";
import { sandboxStub } from "../platform/bindings";

// Runs one Baileys socket at a time for a session object: SQLite auth state, the ws shim routed
// to real WhatsApp or to the account's sandbox, quiet logging. No HTTP/API or lifecycle policy
// here (reconnects, backoff and status belong to the session object).

hardenBaileys();
fixBufferWrites();

export const WHATSAPP_WS_URL = "wss://web.whatsapp.com/ws/chat";

/** Where the socket goes. The sandbox is the account's SandboxObject (SANDBOX_WORLD). */
export type SocketDestination =
  | { kind: "whatsapp"; url?: string }
  | { kind: "sandbox"; accountId: string; sessionId: string };

/** The sandbox object's RPC surface the session relies on (contract with src/sandbox/). */
interface SandboxTrust {
  trustRoot(): Promise<Uint8Array>;
}

/** Connects to the account's sandbox and trusts the sandbox's Noise root for this socket only. */
export function sandboxTarget(env: Env, accountId: string, sessionId: string): SocketTarget {
  return {
    async connect({ headers, signal }) {
      const stub = sandboxStub(env, accountId);
      // Cast: the contract method, typed here so the session does not depend on sandbox internals.
      const noiseRoot = new Uint8Array(await (stub as unknown as SandboxTrust).trustRoot());
      // media_host: the host the sandbox names in media_conn and media URLs (see registerSandboxMedia).
      const query = `session=${encodeURIComponent(sessionId)}&media_host=${sandboxMediaHost(accountId)}`;
      const response = await stub.fetch(`https://sandbox/ws/chat?${query}`, {
        headers,
        signal,
      });
      return { response, noiseRoot };
    },
  };
}

/**
 * Makes this isolate route the account's sandbox media host (uploads after media_conn, downloads of
 * received media) to its SandboxObject. Idempotent; only that reserved host is affected.
 */
export function registerSandboxMedia(env: Env, accountId: string): string {
  const host = sandboxMediaHost(accountId);
  registerMediaTarget(host, {
    fetch: (request) => sandboxStub(env, accountId).fetch(request),
  });
  return host;
}

export interface BaileysHostOptions {
  env: Env;
  storage: DurableObjectStorage;
  destination: SocketDestination;
  logLevel?: LogLevel;
  /** What this session sent, served to recipients' resend requests (the object's one instance). */
  sent: SentStore;
  /** Overrides of the socket config (e.g. timeouts, version); auth, URL and logger are the host's. */
  socketConfig?: Partial<UserFacingSocketConfig>;
  /** Every event batch of the current socket (creds are already saved when this runs). */
  onEvents?: (events: Partial<BaileysEventMap>, socket: WASocket) => void | Promise<void>;
}

export const DEFAULT_SOCKET_CONFIG = {
  // A real browser/OS pair: WhatsApp refuses pairing codes for unknown ones (domain/browser.ts).
  // Sessions pass their own (SessionSocket: the session's, else WA_BROWSER).
  browser: browserTuple(DEFAULT_BROWSER)!,
  markOnlineOnConnect: false,
  connectTimeoutMs: 20_000,
  defaultQueryTimeoutMs: 60_000,
  keepAliveIntervalMs: 30_000,
  // qrTimeout unset: Baileys shows the first QR 60 s, later ones 20 s.
  syncFullHistory: false,
} satisfies Partial<UserFacingSocketConfig>;

/**
 * Sandbox sockets ping more often, so a silent peer (fault `silence`) is noticed in about 15 s
 * (Baileys ends the socket when nothing arrived for an interval + 5 s). Not shorter: locally
 * every object shares one thread, and a stall of a few seconds must not drop every session.
 */
export const SANDBOX_SOCKET_CONFIG = { keepAliveIntervalMs: 10_000 } satisfies Partial<UserFacingSocketConfig>;

const headersOf = (options: { headers?: unknown } | undefined): Record<string, string> =>
  options?.headers && typeof options.headers === "object" ? (options.headers as Record<string, string>) : {};

export class BaileysHost {
  readonly auth: SqliteAuthState;
  private current: { socket: WASocket; target?: RegisteredTarget; closed: boolean } | undefined;

  constructor(private readonly options: BaileysHostOptions) {
    this.auth = createSqliteAuthState(options.storage);
    // At construction, not start: media of stored messages must download while the socket sleeps.
    if (options.destination.kind === "sandbox") registerSandboxMedia(options.env, options.destination.accountId);
  }

  get socket(): WASocket | undefined {
    return this.current && !this.current.closed ? this.current.socket : undefined;
  }

  /** Opens a socket unless one is open; a closed socket is replaced (e.g. after restartRequired). */
  start(): WASocket {
    if (this.current && !this.current.closed) return this.current.socket;
    const { env, destination, logLevel, socketConfig, onEvents } = this.options;
    const target =
      destination.kind === "sandbox"
        ? registerSocketTarget(sandboxTarget(env, destination.accountId, destination.sessionId), {
            account: destination.accountId,
            session: destination.sessionId,
          })
        : undefined;
    const logger = createLogger(logLevel ?? "warn", { component: "baileys" });
    let socket: WASocket;
    try {
      socket = makeWASocket({
        ...DEFAULT_SOCKET_CONFIG,
        ...(destination.kind === "sandbox" ? SANDBOX_SOCKET_CONFIG : {}),
        ...socketConfig,
        // Downloads by direct path alone (history sync) name WhatsApp's default media host; the
        // header sends a sandbox session's to its sandbox instead (runtime/media-target.ts).
        ...(destination.kind === "sandbox" ? { options: { ...socketConfig?.options, headers: { ...headersOf(socketConfig?.options), [SANDBOX_MEDIA_HEADER]: sandboxMediaMarker(destination.accountId) } } } : {}),
        waWebSocketUrl: target?.url ?? (destination.kind === "whatsapp" ? destination.url : undefined) ?? WHATSAPP_WS_URL,
        auth: this.auth.state,
        // A recipient's retry receipt asks for the original; Baileys' own cache dies with the object.
        getMessage: (key) => this.resendable(key, socket),
        logger,
      });
    } catch (err) {
      target?.release();
      throw err;
    }
    const current = { socket, target, closed: false };
    this.current = current;
    // Baileys answers each offline message before its upsert leaves the event buffer (at the end of
    // the offline phase); a socket ending first would destroy the buffer, and with it messages the
    // server already counts as delivered. End handlers run before that, so flush there.
    socket.registerSocketEndHandler(() => {
      socket.ev.flush();
    });
    socket.ev.process(async (events) => {
      if (events["creds.update"]) this.auth.saveCreds();
      if (events["connection.update"]?.connection === "close") {
        current.closed = true;
        current.target?.release();
      }
      try {
        await onEvents?.(events, socket);
      } catch (err) {
        // A failing callback must not become an unhandled rejection inside Baileys' emitter.
        logger.error({ err }, "session event handler failed");
      }
    });
    return socket;
  }

  /**
   * The content sent under this key's id, only to the chat it was sent to: a retry receipt from
   * another chat naming our id must not get our message (by PN or by LID, the same user).
   */
  private async resendable(key: WAMessageKey, socket: WASocket): Promise<proto.IMessage | undefined> {
    const stored = key.id ? this.options.sent.get(key.id) : undefined;
    if (!stored) return undefined;
    let asker = key.remoteJid ?? "";
    if (asker.endsWith("@lid")) asker = (await socket.signalRepository?.lidMapping?.getPNForLID(asker).catch(() => null)) ?? asker;
    if (!resendAllowed(stored.chatJid, asker)) {
      log.warn({ id: key.id, asked_by: key.remoteJid, chat: stored.chatJid }, "resend asked from another chat; refused");
      return undefined;
    }
    return stored.message;
  }

  /** Closes the current socket without logging out; auth state stays for the next start. */
  async stop(): Promise<void> {
    const current = this.current;
    if (!current || current.closed) return;
    current.closed = true;
    try {
      await current.socket.end(undefined);
    } finally {
      current.target?.release();
    }
  }
}
