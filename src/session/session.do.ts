import type { BaileysEventMap, WASocket } from "baileys";
import { DurableObject } from "cloudflare:workers";
import { database } from "../db/client";
import { rpcError } from "../domain/rpc-error";
import { sessionRowExists, updateSessionState, type SessionStatePatch } from "../db/sessions.repo";
import { failPendingOfSession } from "../db/messages.repo";
import { emitMessageEvent } from "../events/message-events";
import type { BotSettings } from "../domain/bot";
import { jidToPhone } from "../domain/phone";
import { qrPngDataUrl } from "../domain/qr";
import {
  attemptsAfterClose,
  backoffExhausted,
  classifyDisconnect,
  reconnectDelay,
  SLOW_RETRY_REASON,
  type DisconnectSource,
  type ServerWord,
  type SessionStatus,
} from "../domain/session-status";
import { now } from "../domain/time";
import { AutoReply, type ReceivedMessage } from "./auto-reply";
import { BaileysHost } from "./baileys-host";
import { emitEvent } from "../events/emit";
import { EventStream, type StoredEvent } from "./event-stream";
import { Outbox } from "./outbox";
import { Reconciler } from "./reconcile";
import type { OutboxItem } from "./outbox.types";
import { MessageSender } from "./message-sender";
import { isLogLevel } from "./logger";
import { Schedule, type DueTask } from "./schedule";
import type { SessionConfig, SessionSnapshot } from "./session.types";

const META_SCHEMA_VERSION = 1;
// A persistent session is checked this often, so a socket killed by a deploy or an
// eviction comes back even when nothing else wakes the object.
// Short: after a restart (deploy, eviction, `wrangler dev` reload) D1 still says `connected`
// and nothing else wakes the object, so this bounds how long a linked session is silently down.
// An alarm on an object that is in memory anyway costs next to nothing.
const WATCHDOG_MS = 10_000;
// Messages wait this long for a session that is down before they fail (and are refunded).
const OUTBOX_MAX_WAIT_MS = 24 * 60 * 60_000;
const OUTBOX_RECHECK_MS = 30_000;
// One alarm run sends for at most this long, then yields to the next alarm.
// Short, so other calls to this object (and, locally, to the whole runtime) are not held up.
const OUTBOX_BURST_MS = 1_000;
// Besides wake-ups, an alarm reconciles the outbox with D1 at most this often.
const RECONCILE_EVERY_MS = 5 * 60_000;

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

interface SessionState {
  status: SessionStatus;
  reason: string | null;
  phoneNumber: string | null;
  displayName: string | null;
  /** Whether the object should hold a socket (false after disconnect, logout, ban, ...). */
  running: boolean;
  /** on_demand: the socket is closed on purpose between bursts. */
  sleeping: boolean;
  attempts: number;
  /** When the current socket logged in (epoch ms); null while none is logged in. */
  openedAt: number | null;
  /** A 515 restart was taken since the last login: the next one goes through the backoff. */
  restarted: boolean;
}

const INITIAL_STATE: SessionState = {
  status: "pending",
  reason: null,
  phoneNumber: null,
  displayName: null,
  running: false,
  sleeping: false,
  attempts: 0,
  openedAt: null,
  restarted: false,
};

/** Test-only var: where non-sandbox sockets go instead of WhatsApp (tests must never reach it). */
interface DestinationVars {
  WHATSAPP_WS_URL?: string;
}

type CloseError = Error & { output?: { statusCode?: number }; data?: unknown };

/**
 * Baileys wraps every failure of the WebSocket itself (its 'error' event, and a 'close' during
 * the handshake) as "WebSocket Error (...)" (Socket/socket.js mapWebSocketError), with a code
 * guessed from the error: 408 for E-codes, the HTTP status of a refused upgrade, else 500.
 */
function closeSource(error: Error | undefined): DisconnectSource {
  return error?.message?.startsWith("WebSocket Error") ? "transport" : "server";
}

/**
 * The server's own word behind a close, from Baileys' Boom (Socket/socket.js): "Connection
 * Failure" carries a login `<failure>`, "Stream Errored (…)" a `<stream:error>` with its first
 * child as `data` (the `conflict` node for device_removed / replaced).
 */
function serverWord(error: CloseError | undefined): ServerWord | undefined {
  const message = error?.message ?? "";
  if (message.startsWith("Connection Failure")) return { kind: "failure" };
  if (!message.startsWith("Stream Errored")) return undefined;
  const child = error?.data as { tag?: string; attrs?: { type?: string } } | undefined;
  return { kind: "stream", conflict: child?.tag === "conflict" ? child.attrs?.type : undefined };
}

/**
 * One object per WhatsApp session: owns the Baileys socket, its auth state, the status kept
 * true in D1, the SSE stream, and the alarm-driven schedule (reconnect, idle, wake).
 */
export class SessionObject extends DurableObject<Env> {
  private readonly stream: EventStream;
  private readonly schedule: Schedule;
  private readonly outbox: Outbox;
  private readonly sender: MessageSender;
  private readonly bot: AutoReply;
  private host: BaileysHost | undefined;
  /** The socket this object wants; events of any other (stopped) socket are ignored. */
  private socket: WASocket | undefined;
  /** The socket finished logging in (`open`) and has not closed since. */
  private socketReady = false;
  private qr: string | null = null;
  private qrWaiters = new Set<(qr: string | null) => void>();
  private reconciler: Reconciler | undefined;
  private reconciling: Promise<number> | undefined;
  /** Last reconcile with D1 (epoch ms; 0 after a wake, so the first alarm reconciles). */
  private reconciledAt = 0;
  /** Last full reconcile asked by the sweep (epoch ms; in memory, so a wake allows one at once). */
  private fullReconciledAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS session_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    sql.exec(
      "INSERT INTO session_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO NOTHING",
      String(META_SCHEMA_VERSION),
    );
    this.stream = new EventStream(sql);
    this.schedule = new Schedule(ctx.storage);
    this.outbox = new Outbox(sql);
    this.sender = new MessageSender(env, sql);
    this.bot = new AutoReply(env, sql);
    // Run overdue work on wake: a session that should be linked but lost its socket to an
    // eviction or a deploy reconnects now rather than at the next alarm.
    ctx.blockConcurrencyWhile(async () => {
      const state = this.readState();
      if (this.config() && state.running && !state.sleeping && !this.schedule.has("reconnect")) this.openSocket();
      // D1 is the truth: after a restart, adopt accepted messages whose hand-off was lost. On
      // the alarm (due at once), not here: the request that woke the object is not held up
      // by the D1 reads; they follow right after it, once per wake.
      if (this.config()) await this.schedule.set("reconcile", Date.now());
    });
  }

  // ---- RPC used by the API ----

  async start(config: SessionConfig): Promise<void> {
    this.writeMeta("config", config);
    this.writeState({ ...INITIAL_STATE, running: true });
    this.stream.publish("status", { status: "pending", reason: null });
    await this.schedule.clear("reconnect", "idle", "wake");
    this.openSocket();
  }

  /** The current QR, waiting up to `timeoutMs` for one while the session is pending. */
  async waitForQr(timeoutMs: number): Promise<string | null> {
    const state = this.readState();
    if (state.status !== "pending") return null;
    if (this.qr) return this.qr;
    if (!this.socket && state.running) this.openSocket();
    return new Promise((resolve) => {
      const done = (qr: string | null) => {
        clearTimeout(timer);
        this.qrWaiters.delete(done);
        resolve(qr);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      this.qrWaiters.add(done);
    });
  }

  async requestPairingCode(phone: string): Promise<string> {
    // Baileys can ask for a code once the socket is up and waiting to be linked.
    const qr = await this.waitForQr(15_000);
    if (!qr || !this.socket) throw rpcError(409, "The session is not ready to pair; reconnect it and try again.");
    return this.socket.requestPairingCode(phone);
  }

  /**
   * Adopts this session's accepted messages that D1 holds and the outbox does not (the
   * recovery sweep calls it for sessions with stale sends): a full pass, as those rows may
   * predate any incremental window. Safe to repeat. `sessionId` (this object's name) lets a
   * deleted session, whose storage is gone, fail what D1 still holds for it.
   */
  async reconcile(sessionId?: string): Promise<{ adopted: number }> {
    if (!this.config()) {
      if (sessionId) await this.failOrphanedSends(sessionId);
      return { adopted: 0 };
    }
    // A campaign's backlog looks stale to the sweep for as long as it is sending: one full
    // pass per RECONCILE_EVERY_MS is enough, the passes in between are incremental.
    const full = Date.now() - this.fullReconciledAt >= RECONCILE_EVERY_MS;
    if (full) this.fullReconciledAt = Date.now();
    return { adopted: await this.reconcileOutbox(full) };
  }

  /** Takes messages from the send queue into the outbox; repeats of a held id are ignored. */
  async enqueue(items: OutboxItem[]): Promise<{ accepted: number }> {
    const config = this.config();
    if (!config) {
      // The session was deleted while these were on their way: fail them (and refund).
      for (const item of items) await this.sender.fail(item.messageId, "session_deleted");
      return { accepted: 0 };
    }
    const accepted = this.outbox.add(items);
    await this.scheduleOutbox();
    return { accepted };
  }

  /** The auto-reply bot's settings; null when never set. */
  getBot(): BotSettings | null {
    return this.bot.get();
  }

  /** Replaces the bot's settings (validated by the API). */
  putBot(settings: BotSettings): BotSettings {
    return this.bot.put(settings);
  }

  /** Deletes a sent message for everyone (seed 004). */
  async revoke(to: string, providerMessageId: string): Promise<void> {
    const socket = await this.connectedSocket();
    await this.sender.revoke(socket, to, providerMessageId);
    await this.touchIdle();
  }

  /** The decrypted media of an incoming message, or null when this session never received it. */
  async incomingMedia(messageId: string): Promise<{ bytes: Uint8Array; mimetype: string } | null> {
    return this.sender.incomingMedia(this.socket, messageId);
  }

  snapshot(): SessionSnapshot {
    const s = this.readState();
    return {
      status: s.status,
      reason: s.reason,
      qr: s.status === "pending" ? this.qr : null,
      phoneNumber: s.phoneNumber,
      displayName: s.displayName,
      socketOpen: Boolean(this.socket),
    };
  }

  /** Keeps the link; closes the socket and stops reconnecting until `reconnect`. */
  async disconnect(): Promise<void> {
    await this.closeSocket();
    await this.schedule.clear("reconnect", "idle", "wake");
    const state = this.readState();
    await this.setState({
      running: false,
      sleeping: false,
      attempts: 0,
      ...(state.status === "banned" ? {} : { status: "disconnected", reason: "disconnected_by_user" }),
    });
  }

  /** Reopens; when the link is gone the session goes back to `pending` with a new QR. */
  async reconnect(config?: SessionConfig): Promise<{ linked: boolean }> {
    if (config) this.writeMeta("config", config);
    await this.closeSocket();
    await this.schedule.clear("reconnect", "idle", "wake");
    const linked = this.isLinked();
    if (!linked) this.auth().wipe();
    await this.setState({
      running: true,
      sleeping: false,
      attempts: 0,
      restarted: false,
      status: linked ? this.readState().status : "pending",
      reason: linked ? "reconnecting" : null,
    });
    this.openSocket();
    return { linked };
  }

  /** Unlinks from the phone (when linked and reachable) and wipes the keys. */
  async logout(): Promise<void> {
    await this.unlink();
    await this.setState({ status: "disconnected", reason: "logged_out", running: false, sleeping: false, attempts: 0 });
  }

  /** Logs out when linked, then erases everything this object stored. */
  async destroy(): Promise<void> {
    await this.unlink();
    this.stream.closeAll();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    // This instance may still be called until it is evicted (a recovery sweep, a late queue
    // message): it must then behave as a fresh, never-started object, not fail on missing
    // tables. So the empty tables are created again, as the constructor does.
    this.host = undefined;
    this.reconciler = undefined;
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS session_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    new Schedule(this.ctx.storage);
    new Outbox(this.ctx.storage.sql);
    new EventStream(this.ctx.storage.sql);
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/stream") {
      const timeoutMs = Number(url.searchParams.get("timeout") ?? 300) * 1000;
      const header = request.headers.get("Last-Event-ID");
      const lastEventId = header && /^\d+$/.test(header) ? Number(header) : null;
      return this.stream.subscribe(lastEventId, this.initialEvents(), timeoutMs);
    }
    return new Response("not found", { status: 404 });
  }

  // ---- Alarm: one schedule table, explicit error policy ----

  async alarm(): Promise<void> {
    const due = this.schedule.takeDue();
    // A due reconnect first: it needs no D1, which may be down in the same incident that
    // dropped the socket, and must not wait behind the reconcile's round trips.
    for (const task of due) if (task.kind === "reconnect") await this.runDue(task);
    // Before sending: on wake, and every RECONCILE_EVERY_MS of alarms, adopt from D1.
    if (due.some((t) => t.kind === "reconcile") || Date.now() - this.reconciledAt >= RECONCILE_EVERY_MS) await this.reconcileOutbox();
    for (const task of due) {
      if (task.kind === "reconcile" || task.kind === "reconnect") continue;
      await this.runDue(task);
    }
    await this.schedule.syncAlarm();
  }

  /** Never lets a task throw out of alarm(): the platform would re-run all of them. */
  private async runDue(task: DueTask): Promise<void> {
    try {
      await this.runTask(task);
    } catch (err) {
      // Each task is retried on its own: the outbox soon, a socket task through the backoff.
      console.error(JSON.stringify({ msg: "session task failed", task: task.kind, err: String(err) }));
      if (task.kind === "outbox") await this.schedule.set("outbox", Date.now() + OUTBOX_RECHECK_MS);
      else if (this.readState().running && !this.socket && !this.schedule.has("reconnect")) {
        // The retry is armed before D1 is written; a D1 failure here must not escape alarm().
        await this.scheduleReconnect("task_failed").catch((e) => console.error(JSON.stringify({ msg: "status not saved", err: String(e) })));
      }
    }
  }

  private async runTask(task: DueTask): Promise<void> {
    const state = this.readState();
    const config = this.config();
    if (!config) return;
    // The outbox must reach a final state for every message, even when the session stopped.
    if (task.kind === "outbox") return this.processOutbox();
    if (!state.running) return;
    switch (task.kind) {
      case "reconnect":
        // openSocket() is a no-op while a socket is up; nothing to reconnect then.
        this.openSocket();
        break;
      case "idle":
        // No D1 on this path: the wake is armed first and the state is local, so a failing D1
        // cannot leave an on_demand session with no socket and nothing that brings it back.
        if (config.connectionMode === "on_demand" && !this.schedule.has("reconnect")) {
          await this.schedule.set("wake", Date.now() + config.wakeIntervalMs);
          this.writeState({ ...this.readState(), sleeping: true });
          await this.closeSocket();
        }
        break;
      case "wake":
        if (config.connectionMode === "on_demand") {
          this.writeState({ ...this.readState(), sleeping: false });
          this.openSocket();
        } else {
          // A scheduled reconnect owns the timing (backoff, slow retry); the watchdog only
          // catches a socket lost with nothing scheduled (restart, eviction).
          if (!this.socket && !this.schedule.has("reconnect")) this.openSocket();
          await this.schedule.set("wake", Date.now() + WATCHDOG_MS);
        }
        break;
    }
  }

  // ---- Socket and events ----

  private auth() {
    return this.ensureHost().auth;
  }

  private ensureHost(): BaileysHost {
    if (this.host) return this.host;
    const config = this.config();
    if (!config) throw new Error("session object used before start()");
    const logLevel = this.env.BAILEYS_LOG_LEVEL;
    this.host = new BaileysHost({
      env: this.env,
      storage: this.ctx.storage,
      destination: config.sandbox
        ? { kind: "sandbox", accountId: config.accountId, sessionId: config.id }
        : { kind: "whatsapp", url: (this.env as DestinationVars).WHATSAPP_WS_URL || undefined },
      logLevel: isLogLevel(logLevel) ? logLevel : "warn",
      socketConfig: config.qrTimeoutMs ? { qrTimeout: config.qrTimeoutMs } : undefined,
      onEvents: (events, socket) => this.onEvents(events, socket),
    });
    return this.host;
  }

  private isLinked(): boolean {
    const creds = this.auth().state.creds;
    return Boolean(creds.me?.id);
  }

  private openSocket(): void {
    if (this.socket) return;
    this.qr = null;
    this.socketReady = false;
    this.socket = this.ensureHost().start();
  }

  private async closeSocket(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.socketReady = false;
    this.qr = null;
    if (socket) await this.host?.stop();
  }

  private async unlink(): Promise<void> {
    const socket = this.socket;
    if (socket && this.readState().status === "connected") {
      try {
        // Tells WhatsApp to remove this companion device from the phone.
        await socket.logout();
      } catch (err) {
        console.warn(JSON.stringify({ msg: "logout request failed; wiping keys anyway", err: String(err) }));
      }
    }
    await this.closeSocket();
    await this.schedule.clear("reconnect", "idle", "wake");
    if (this.config()) this.auth().wipe();
  }

  private async onEvents(events: Partial<BaileysEventMap>, socket: WASocket): Promise<void> {
    if (socket !== this.socket) return;
    const update = events["connection.update"] ?? {};
    // Each part runs on its own: a failing D1 write for a message must not keep the session
    // from noticing that its socket closed (or the reverse).
    const step = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        console.error(JSON.stringify({ msg: "session event step failed", step: what, err: String(err) }));
      }
    };

    if (update.qr) {
      const qr = update.qr;
      this.qr = qr;
      for (const waiter of [...this.qrWaiters]) waiter(qr);
      await step("qr", async () => {
        this.stream.publish("qr", { qr, qr_code: await qrPngDataUrl(qr) });
        await this.emit("session.qr", { qr });
      });
    }

    if (update.connection === "open") {
      this.qr = null;
      this.socketReady = true;
      await step("open", async () => {
        const me = this.auth().state.creds.me;
        const phoneNumber = me?.id ? jidToPhone(me.id.replace(/:\d+@/, "@")) : null;
        const displayName = me?.name ?? me?.verifiedName ?? null;
        // Local state, then the schedule, then D1. `attempts` stays: only a login that lasts
        // resets the ladder (attemptsAfterClose), so a server that drops every login is backed off.
        const before = this.readState();
        const after = { ...before, status: "connected" as const, reason: null, phoneNumber, displayName, sleeping: false, openedAt: Date.now(), restarted: false };
        this.writeState(after);
        await this.schedule.clear("reconnect");
        const config = this.config()!;
        if (config.connectionMode === "on_demand") await this.schedule.set("idle", Date.now() + config.idleTimeoutMs);
        else await this.schedule.set("wake", Date.now() + WATCHDOG_MS);
        await this.scheduleOutbox();
        await this.publishState(before, after);
        this.stream.publish("connected", { phone_number: phoneNumber, display_name: displayName });
      });
    }

    const updates = events["messages.update"];
    if (updates) await step("receipts", () => this.sender.onUpdates(this.config()!, updates));
    const upsert = events["messages.upsert"];
    if (upsert) {
      await step("messages", async () => {
        const config = this.config()!;
        const phone = this.readState().phoneNumber;
        const received = await this.sender.onUpsert(config, upsert, phone);
        if (received.length > 0) {
          await this.autoReply(config, received, phone);
          await this.touchIdle();
        }
      });
    }

    if (update.connection === "close") {
      this.socket = undefined;
      this.socketReady = false;
      this.qr = null;
      const error = update.lastDisconnect?.error as CloseError | undefined;
      await this.handleClose(error?.output?.statusCode, error?.message, closeSource(error), serverWord(error));
    }
  }

  private async handleClose(
    statusCode: number | undefined,
    message: string | undefined,
    source: DisconnectSource,
    word?: ServerWord,
  ): Promise<void> {
    const before = this.readState();
    if (!before.running || before.sleeping) return;
    const state = { ...before, attempts: attemptsAfterClose(before.attempts, before.openedAt, Date.now()), openedAt: null };
    this.writeState(state);
    const action = classifyDisconnect(statusCode, state.status !== "pending" || this.isLinked(), source, word);
    console.warn(JSON.stringify({ msg: "session socket closed", session: this.config()?.id, statusCode, source, error: message, action }));
    switch (action.kind) {
      case "restart":
        // One immediate restart per login (the 515 after pairing); a second 515 with no login
        // in between would be a zero-delay loop, so it waits its turn in the backoff.
        if (!state.restarted) {
          this.writeState({ ...state, restarted: true });
          this.openSocket();
        } else {
          await this.scheduleReconnect("restart_required");
        }
        return;
      case "reconnect":
        await this.scheduleReconnect(action.reason);
        return;
      case "stop":
        if (action.unlinked) this.auth().wipe();
        await this.schedule.clear("reconnect", "idle", "wake");
        this.stream.publish("error", { code: action.reason, message: message ?? action.reason, status_code: statusCode ?? null });
        await this.setState({ status: action.status, reason: action.reason, running: false, attempts: 0 });
    }
  }

  private async scheduleReconnect(reason: string): Promise<void> {
    const state = this.readState();
    const linked = state.status !== "pending" || this.isLinked();
    if (backoffExhausted(state.attempts) && !linked) {
      // Never linked: nothing to keep, and only a person with a phone can finish it.
      await this.schedule.clear("reconnect");
      await this.setState({ status: "failed", reason: "reconnect_failed", running: false });
      this.stream.publish("error", { code: "reconnect_failed", message: `Gave up after ${state.attempts} reconnect attempts.` });
      return;
    }
    // A linked session never gives up: past the fast ladder it retries slowly (about every
    // 15 min) and says so; the keys stay, and a login that lasts resets the ladder.
    const delay = reconnectDelay(state.attempts);
    const slow = backoffExhausted(state.attempts);
    // The retry first: D1 often fails in the same incident that dropped the socket, and the
    // session must come back whether or not its new status reached D1.
    await this.schedule.set("reconnect", Date.now() + delay);
    // A pending session keeps `pending` (it still needs a scan); a linked one shows the drop.
    await this.setState({
      attempts: state.attempts + 1,
      ...(state.status === "pending" ? {} : { status: "disconnected", reason: slow ? SLOW_RETRY_REASON : reason }),
    });
  }

  // ---- Outbox ----

  /** Bot replies are already accepted (paid, stored); they go straight into this outbox. */
  private async autoReply(config: SessionConfig, received: ReceivedMessage[], phone: string | null): Promise<void> {
    let added = 0;
    try {
      await this.bot.replies(config, received, phone, (item) => (added += this.outbox.add([item])));
    } catch (err) {
      // The incoming messages are stored either way; a failed reply must not break the socket.
      console.error(JSON.stringify({ msg: "bot reply failed", session: config.id, err: String(err) }));
    }
    if (added > 0) await this.scheduleOutbox();
  }

  /**
   * One reconcile run at a time (the alarm and a sweep's call may meet); never throws. A full
   * pass asked for while an incremental one runs waits for it, then runs.
   */
  private async reconcileOutbox(full = false): Promise<number> {
    if (full && this.reconciling) await this.reconciling;
    this.reconciling ??= this.reconcileOnce(full).finally(() => (this.reconciling = undefined));
    return this.reconciling;
  }

  /** Returns how many were adopted; a failure is retried by the alarm. */
  private async reconcileOnce(full: boolean): Promise<number> {
    const config = this.config();
    if (!config) return 0;
    this.reconciledAt = Date.now();
    try {
      this.reconciler ??= new Reconciler(this.outbox, config.id);
      const { adopted, complete } = await this.reconciler.run(database(this.env), { full });
      if (adopted > 0) console.warn(JSON.stringify({ msg: "outbox adopted messages from D1", session: config.id, adopted }));
      // Also when nothing was adopted: the `outbox` task may have been lost (takeDue removes it
      // before processOutbox runs; a crash in between leaves held entries with no task).
      if (adopted > 0 || (this.outbox.size() > 0 && !this.schedule.has("outbox"))) await this.scheduleOutbox();
      if (!complete) await this.schedule.set("reconcile", Date.now());
      return adopted;
    } catch (err) {
      console.error(JSON.stringify({ msg: "outbox reconcile failed", session: config.id, err: String(err) }));
      await this.schedule.set("reconcile", Date.now() + OUTBOX_RECHECK_MS);
      return 0;
    }
  }

  /**
   * The session was deleted (its storage is gone) but D1 still holds unsent messages for it: a
   * crash between destroy() and the route's failPendingOfSession. Fail and refund them, as
   * enqueue() does, so they neither wait forever nor keep the recovery alarm running.
   */
  private async failOrphanedSends(sessionId: string): Promise<void> {
    const db = database(this.env);
    if (await sessionRowExists(db, sessionId)) return; // not deleted: only never started here
    for (const failed of await failPendingOfSession(db, sessionId, "session_deleted")) await emitMessageEvent(this.env, "message.failed", failed);
  }

  private async scheduleOutbox(): Promise<void> {
    const at = this.outbox.nextSendAt();
    if (at === null) return this.schedule.clear("outbox");
    await this.schedule.set("outbox", at);
  }

  /**
   * Sends what is due, one message at a time and paced, within one alarm run. Waits while
   * the socket is down; fails everything when the session can no longer send at all.
   */
  private async processOutbox(): Promise<void> {
    const config = this.config();
    if (!config) return;
    const state = this.readState();
    if (state.status === "banned" || state.status === "failed" || state.reason === "logged_out") {
      for (const entry of this.outbox.held()) {
        await this.sender.fail(entry.item.messageId, `session_${state.reason ?? state.status}`);
        this.outbox.forget(entry.item.messageId);
      }
      return this.scheduleOutbox();
    }
    for (const entry of this.outbox.expired(Date.now() - OUTBOX_MAX_WAIT_MS)) {
      await this.sender.fail(entry.item.messageId, "session_unavailable");
      this.outbox.forget(entry.item.messageId);
    }
    if (!this.socket || !this.socketReady || state.status !== "connected") {
      // Sleeping on_demand sessions wake for work; the `open` event reschedules the outbox.
      // A socket still logging in (after a restart) is waited for too, not sent through.
      if (state.running && state.sleeping) {
        await this.setState({ sleeping: false });
        this.openSocket();
      }
      if (this.outbox.size() > 0) await this.schedule.set("outbox", Date.now() + OUTBOX_RECHECK_MS);
      return;
    }
    const deadline = Date.now() + OUTBOX_BURST_MS;
    while (Date.now() < deadline && this.socket) {
      const entry = this.outbox.takeNext();
      if (!entry) break;
      const outcome = await this.sender.send(this.socket, config, entry);
      if (outcome === "retry") {
        this.outbox.postpone(entry.item.messageId, Date.now() + 2 ** entry.attempts * 1000);
      } else {
        this.outbox.finish(entry.item.messageId, outcome === "sent" ? entry.item.delayBetweenMs : 0);
      }
      // Let other calls in between sends (locally every object shares one thread): a
      // `delay_between: 0` burst must not hold the runtime.
      await yieldToEventLoop();
    }
    await this.touchIdle();
    await this.scheduleOutbox();
  }

  /** on_demand: work keeps the socket open a while longer. */
  private async touchIdle(): Promise<void> {
    const config = this.config();
    if (config?.connectionMode === "on_demand" && this.socket) await this.schedule.set("idle", Date.now() + config.idleTimeoutMs);
  }

  /** A logged-in socket, waking a sleeping (on_demand) or evicted session for the work. */
  private async connectedSocket(timeoutMs = 15_000): Promise<WASocket> {
    const state = this.readState();
    if (state.status !== "connected" && !(state.status === "disconnected" && this.schedule.has("reconnect"))) {
      throw rpcError(409, `The session is ${state.status}.`);
    }
    if (!this.socket && state.running) {
      await this.setState({ sleeping: false });
      this.openSocket();
    }
    const deadline = Date.now() + timeoutMs;
    while (!(this.socket && this.socketReady)) {
      if (Date.now() > deadline) throw rpcError(409, "The session did not come online in time; try again.");
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.socket;
  }

  /** Webhook events never break the session: a failure is logged and the session goes on. */
  private async emit(type: "session.status" | "session.qr", data: Record<string, unknown>): Promise<void> {
    const config = this.config();
    if (!config) return;
    try {
      await emitEvent(this.env, { accountId: config.accountId, sessionId: config.id, type, data });
    } catch (err) {
      console.error(JSON.stringify({ msg: "could not emit session event", type, err: String(err) }));
    }
  }

  // ---- State: object SQLite first, then D1 and the stream ----

  private initialEvents(): StoredEvent[] {
    const events: StoredEvent[] = [];
    const state = this.readState();
    const qr = this.stream.latest("qr");
    if (state.status === "pending" && this.qr && qr) events.push(qr);
    const status = this.stream.latest("status");
    if (status) events.push(status);
    return events.sort((a, b) => a.id - b.id);
  }

  private config(): SessionConfig | undefined {
    return this.readMeta<SessionConfig>("config");
  }

  private readState(): SessionState {
    return { ...INITIAL_STATE, ...this.readMeta<Partial<SessionState>>("state") };
  }

  private writeState(state: SessionState): void {
    this.writeMeta("state", state);
  }

  /** Applies a change; a change of status or reason is written to D1 and announced. */
  private async setState(patch: Partial<SessionState>): Promise<void> {
    const before = this.readState();
    const after = { ...before, ...patch };
    this.writeState(after);
    await this.publishState(before, after);
  }

  /** Writes a local change to D1 and announces a change of status or reason. */
  private async publishState(before: SessionState, after: SessionState): Promise<void> {
    const config = this.config();
    if (!config) return;
    const d1: SessionStatePatch = { lastSeenAt: now() };
    const statusChanged = after.status !== before.status || after.reason !== before.reason;
    if (statusChanged) Object.assign(d1, { status: after.status, reason: after.reason });
    if (after.phoneNumber !== before.phoneNumber) d1.phoneNumber = after.phoneNumber;
    if (after.displayName !== before.displayName) d1.displayName = after.displayName;
    await updateSessionState(database(this.env), config.id, d1);
    if (statusChanged) {
      this.stream.publish("status", { status: after.status, reason: after.reason });
      await this.emit("session.status", { status: after.status, reason: after.reason, phone_number: after.phoneNumber });
    }
  }

  private readMeta<T>(key: string): T | undefined {
    const row = this.ctx.storage.sql.exec<{ value: string }>("SELECT value FROM session_meta WHERE key = ?", key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  private writeMeta(key: string, value: unknown): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO session_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      key,
      JSON.stringify(value),
    );
  }
}
