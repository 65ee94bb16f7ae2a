import type { BaileysEventMap, GroupMetadata, WASocket } from "baileys";
import { browserTuple, DEFAULT_BROWSER } from "../domain/browser";
import { isLogLevel, log } from "../platform/log";
import { BaileysHost } from "./baileys-host";
import type { SentStore } from "./sent-store";
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
  /**
   * The socket close() is stopping: its end handler flushes Baileys' event buffer (baileys-host.ts),
   * and the messages in that flush were already answered to the server, so they must still be stored.
   */
  retiring: WASocket | undefined;
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
    /** The object's one store of sent messages, for resends (sent-store.ts). */
    private readonly sent: SentStore,
    /** Baileys' cachedGroupMetadata: the groups the sender read (message-groups.ts). */
    private readonly groupMetadata?: (jid: string) => Promise<GroupMetadata | undefined>,
  ) {}

  auth() {
    return this.ensureHost().auth;
  }

  /** Linked = paired: `account` is set only on pair-success; `me` alone may be an accepted code. */
  isLinked(): boolean {
    const creds = this.auth().state.creds;
    return Boolean(creds.me?.id && creds.account);
  }

  open(): void {
    if (this.current) return;
    // A pairing code accepted but never entered left `me` without a link: Baileys would log in
    // as that never-linked device (401, keys wiped) instead of showing a QR.
    const auth = this.auth();
    if (auth.state.creds.me && !auth.state.creds.account) {
      auth.state.creds.me = undefined;
      auth.state.creds.pairingCode = undefined;
      auth.saveCreds();
    }
    this.qr = null;
    this.ready = false;
    this.current = this.ensureHost().start();
  }

  async close(): Promise<void> {
    const socket = this.current;
    this.closed();
    if (!socket) return;
    this.retiring = socket;
    try {
      await this.host?.stop();
    } finally {
      if (this.retiring === socket) this.retiring = undefined;
    }
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
      socketConfig: {
        browser: this.browserTuple(),
        ...(config.qrTimeoutMs ? { qrTimeout: config.qrTimeoutMs } : {}),
        ...(this.groupMetadata ? { cachedGroupMetadata: this.groupMetadata } : {}),
      },
      onEvents: (events, socket) => this.onEvents(events, socket),
      sent: this.sent,
    });
    return this.host;
  }

  /** The session's "Browser (OS)", else the WA_BROWSER var, else a real default pair. */
  browserTuple(): [string, string, string] {
    const configured = this.meta.config()?.browser ?? this.env.WA_BROWSER;
    const tuple = configured ? browserTuple(configured) : null;
    if (configured && !tuple) log.warn({ session: this.meta.config()?.id, browser: configured }, `browser is not "Browser (OS)"; using ${DEFAULT_BROWSER}`);
    return tuple ?? browserTuple(DEFAULT_BROWSER)!;
  }
}
