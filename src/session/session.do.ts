import type { BaileysEventMap, WASocket } from "baileys";
import { DurableObject } from "cloudflare:workers";
import { database } from "../db/client";
import { rpcError } from "../domain/rpc-error";
import { updateSessionState, type SessionStatePatch } from "../db/sessions.repo";
import type { BotSettings } from "../domain/bot";
import { jidToPhone } from "../domain/phone";
import { qrPngDataUrl } from "../domain/qr";
import { classifyDisconnect, reconnectDelay, type SessionStatus } from "../domain/session-status";
import { now } from "../domain/time";
import { AutoReply, type ReceivedMessage } from "./auto-reply";
import { BaileysHost } from "./baileys-host";
import { emitEvent } from "../events/emit";
import { EventStream, type StoredEvent } from "./event-stream";
import { Outbox } from "./outbox";
import type { OutboxItem } from "./outbox.types";
import { MessageSender } from "./message-sender";
import { isLogLevel } from "./logger";
import { Schedule, type DueTask } from "./schedule";
import type { SessionConfig, SessionSnapshot } from "./session.types";

const META_SCHEMA_VERSION = 1;
// A persistent session is checked this often, so a socket killed by a deploy or an
// eviction comes back even when nothing else wakes the object.
const WATCHDOG_MS = 60_000;
// Messages wait this long for a session that is down before they fail (and are refunded).
const OUTBOX_MAX_WAIT_MS = 24 * 60 * 60_000;
const OUTBOX_RECHECK_MS = 30_000;
// One alarm run sends for at most this long, then yields to the next alarm.
// Short, so other calls to this object (and, locally, to the whole runtime) are not held up.
const OUTBOX_BURST_MS = 5_000;

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
}

const INITIAL_STATE: SessionState = {
  status: "pending",
  reason: null,
  phoneNumber: null,
  displayName: null,
  running: false,
  sleeping: false,
  attempts: 0,
};

type CloseError = Error & { output?: { statusCode?: number } };

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
    for (const task of due) {
      try {
        await this.runTask(task);
      } catch (err) {
        // Never let a task throw out of alarm(): the platform would re-run all of them. Each
        // task is retried on its own: the outbox soon, a socket task through the backoff.
        console.error(JSON.stringify({ msg: "session task failed", task: task.kind, err: String(err) }));
        if (task.kind === "outbox") await this.schedule.set("outbox", Date.now() + OUTBOX_RECHECK_MS);
        else if (this.readState().running && !this.socket) await this.scheduleReconnect("task_failed");
      }
    }
    await this.schedule.syncAlarm();
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
        if (config.connectionMode === "on_demand" && this.socket) {
          await this.setState({ sleeping: true });
          await this.closeSocket();
          await this.schedule.set("wake", Date.now() + config.wakeIntervalMs);
        }
        break;
      case "wake":
        if (config.connectionMode === "on_demand") {
          await this.setState({ sleeping: false });
          this.openSocket();
        } else {
          if (!this.socket) this.openSocket();
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
        : { kind: "whatsapp" },
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
        await this.setState({ status: "connected", reason: null, phoneNumber, displayName, attempts: 0, sleeping: false });
        await this.schedule.clear("reconnect");
        this.stream.publish("connected", { phone_number: phoneNumber, display_name: displayName });
        const config = this.config()!;
        if (config.connectionMode === "on_demand") await this.schedule.set("idle", Date.now() + config.idleTimeoutMs);
        else await this.schedule.set("wake", Date.now() + WATCHDOG_MS);
        await this.scheduleOutbox();
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
      const statusCode = (update.lastDisconnect?.error as CloseError | undefined)?.output?.statusCode;
      await this.handleClose(statusCode, update.lastDisconnect?.error?.message);
    }
  }

  private async handleClose(statusCode: number | undefined, message: string | undefined): Promise<void> {
    const state = this.readState();
    if (!state.running || state.sleeping) return;
    const action = classifyDisconnect(statusCode, state.status !== "pending" || this.isLinked());
    switch (action.kind) {
      case "restart":
        this.openSocket();
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
    const delay = reconnectDelay(state.attempts);
    if (delay === null) {
      await this.setState({ status: "failed", reason: "reconnect_failed", running: false });
      this.stream.publish("error", { code: "reconnect_failed", message: `Gave up after ${state.attempts} reconnect attempts.` });
      return;
    }
    // A pending session keeps `pending` (it still needs a scan); a linked one shows the drop.
    await this.setState({
      attempts: state.attempts + 1,
      ...(state.status === "pending" ? {} : { status: "disconnected", reason }),
    });
    await this.schedule.set("reconnect", Date.now() + delay);
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
      for (const entry of this.outbox.drain()) await this.sender.fail(entry.item.messageId, `session_${state.reason ?? state.status}`);
      return this.scheduleOutbox();
    }
    for (const entry of this.outbox.expired(Date.now() - OUTBOX_MAX_WAIT_MS)) {
      await this.sender.fail(entry.item.messageId, "session_unavailable");
    }
    if (!this.socket || state.status !== "connected") {
      // Sleeping on_demand sessions wake for work; the `open` event reschedules the outbox.
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
