import type { BaileysEventMap, WASocket } from "baileys";
import { isLogLevel } from "../platform/log";
import { BaileysHost } from "./baileys-host";
import { idleCloseAt } from "./connection-mode";
import type { Schedule } from "./schedule";
import type { SessionMeta } from "./session-state";
import { Waiters } from "./waiters";

// The session's one Baileys socket: which socket the object wants, whether it logged in, and
// the current QR while pairing. Callers wait for a QR or for a login on waiter sets, resolved
// by the socket's events (lifecycle.ts) rather than by polling.

/** Test-only var: where non-sandbox sockets go instead of WhatsApp (tests must never reach it). */
interface DestinationVars {
  WHATSAPP_WS_URL?: string;
}

export type SocketEvents = (events: Partial<BaileysEventMap>, socket: WASocket) => Promise<void>;

export class SessionSocket {
  private host: BaileysHost | undefined;
  /** The socket this object wants; events of any other (stopped) socket are ignored. */
  current: WASocket | undefined;
  /** The socket finished logging in (`open`) and has not closed since. */
  ready = false;
  qr: string | null = null;
  private readonly qrWaiters = new Waiters<string | null>();
  private readonly readyWaiters = new Waiters<boolean>();

  constructor(
    private readonly env: Env,
    private readonly storage: DurableObjectStorage,
    private readonly meta: SessionMeta,
    private readonly schedule: Schedule,
    private readonly onEvents: SocketEvents,
  ) {}

  auth() {
    return this.ensureHost().auth;
  }

  isLinked(): boolean {
    return Boolean(this.auth().state.creds.me?.id);
  }

  open(): void {
    if (this.current) return;
    this.qr = null;
    this.ready = false;
    this.current = this.ensureHost().start();
  }

  async close(): Promise<void> {
    const socket = this.current;
    this.closed();
    if (socket) await this.host?.stop();
  }

  /** The socket closed (or was stopped): no socket, no QR. */
  closed(): void {
    this.current = undefined;
    this.ready = false;
    this.qr = null;
  }

  /** Forgets the Baileys host (its auth state) after the object's storage was erased. */
  forget(): void {
    this.host = undefined;
  }

  /** A new QR from the socket: callers waiting for one get it. */
  showQr(qr: string): void {
    this.qr = qr;
    this.qrWaiters.resolveAll(qr);
  }

  /** The socket logged in: callers waiting for a ready socket go on. */
  loggedIn(): void {
    this.qr = null;
    this.ready = true;
    this.readyWaiters.resolveAll(true);
  }

  /** The next QR, or null after `timeoutMs` without one. */
  nextQr(timeoutMs: number): Promise<string | null> {
    return this.qrWaiters.wait(timeoutMs, null);
  }

  /** The logged-in socket, waiting up to `timeoutMs` for a login; undefined when none came in time. */
  async whenReady(timeoutMs: number): Promise<WASocket | undefined> {
    const deadline = Date.now() + timeoutMs;
    // A socket may log in, close and log in again while waiting: look again after each wake-up.
    while (!(this.current && this.ready)) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await this.readyWaiters.wait(left, false);
    }
    return this.current;
  }

  /** on_demand: work keeps the socket open a while longer. */
  async touchIdle(): Promise<void> {
    const config = this.meta.config();
    const at = config ? idleCloseAt(config, Date.now()) : null;
    if (at !== null && this.current) await this.schedule.set("idle", at);
  }

  private ensureHost(): BaileysHost {
    if (this.host) return this.host;
    const config = this.meta.config();
    if (!config) throw new Error("session object used before start()");
    const logLevel = this.env.BAILEYS_LOG_LEVEL;
    this.host = new BaileysHost({
      env: this.env,
      storage: this.storage,
      destination: config.sandbox
        ? { kind: "sandbox", accountId: config.accountId, sessionId: config.id }
        : { kind: "whatsapp", url: (this.env as DestinationVars).WHATSAPP_WS_URL || undefined },
      logLevel: isLogLevel(logLevel) ? logLevel : "warn",
      socketConfig: config.qrTimeoutMs ? { qrTimeout: config.qrTimeoutMs } : undefined,
      onEvents: (events, socket) => this.onEvents(events, socket),
    });
    return this.host;
  }
}
