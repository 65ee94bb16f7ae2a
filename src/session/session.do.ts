import type { WASocket } from "baileys";
import { DurableObject } from "cloudflare:workers";
import type { BotSettings } from "../domain/bot";
import type { OutboxItem } from "../domain/outbox-item";
import { rpcError } from "../domain/rpc-error";
import { database } from "../db/client";
import { failMessages } from "../db/messages.status";
import { emitMessageEvent } from "../events/message-events";
import { log } from "../platform/log";
import { AutoReply } from "./auto-reply";
import { wantsSocket } from "./connection-mode";
import { EventStream, type StoredEvent } from "./event-stream";
import { runGroupOp } from "./groups";
import type { GroupAnswer, GroupOp } from "./groups.types";
import { runPeopleOp } from "./people";
import type { PeopleAnswer, PeopleOp } from "./people.types";
import { Lifecycle } from "./lifecycle";
import { GroupDirectory } from "./message-groups";
import { MessageSender } from "./message-sender";
import { Outbox } from "./outbox";
import { requestPairingCode, type PairingCodeAnswer } from "./pairing-code";
import { OUTBOX_RECHECK_MS, OutboxDrain, RECONCILE_EVERY_MS } from "./outbox-drain";
import { PendingVerdicts } from "./pending-verdicts";
import { Receipts } from "./receipts";
import { MessageReceiver } from "./receive";
import { Schedule, type DueTask } from "./schedule";
import { SentStore } from "./sent-store";
import { ServerAcks } from "./server-acks";
import { migrateSessionSchema } from "./session.schema";
import { INITIAL_STATE, SessionMeta } from "./session-state";
import { SessionSocket } from "./session-socket";
import type { SessionConfig, SessionSnapshot } from "./session.types";
import { StatusReporter } from "./status-reporter";
import { StatusFlush } from "./status-flush";
import { StatusJournal } from "./status-journal";

/**
 * One object per WhatsApp session: owns the Baileys socket, its auth state, the status kept
 * true in D1, the SSE stream, and the alarm-driven schedule (reconnect, idle, wake, outbox).
 * This file is the RPC surface and the alarm; the parts do the work: lifecycle.ts (socket
 * events, reconnects, socket tasks), session-socket.ts (the socket, QR and login waiters),
 * outbox-drain.ts (sending and reconcile), connection-mode.ts (persistent vs on_demand).
 */
export class SessionObject extends DurableObject<Env> {
  private readonly meta: SessionMeta;
  private readonly stream: EventStream;
  private readonly schedule: Schedule;
  private readonly outbox: Outbox;
  private readonly status: StatusReporter;
  private readonly sender: MessageSender;
  private readonly receiver: MessageReceiver;
  private readonly bot: AutoReply;
  private readonly conn: SessionSocket;
  private readonly drain: OutboxDrain;
  private readonly lifecycle: Lifecycle;
  private readonly journal: StatusJournal;
  private readonly flusher: StatusFlush;
  /** Last full reconcile asked by the sweep (epoch ms; in memory, so a wake allows one at once). */
  private fullReconciledAt = 0;
  /** A pairing-code request is waiting for WhatsApp's answer (in memory: it dies with the socket). */
  private pairingInFlight = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    // Before anything else touches SQL: every part below finds its tables ready.
    migrateSessionSchema(ctx.storage);
    this.meta = new SessionMeta(sql);
    this.stream = new EventStream(sql);
    this.schedule = new Schedule(ctx.storage);
    this.outbox = new Outbox(sql);
    this.status = new StatusReporter(env, this.meta, this.stream);
    const acks = new ServerAcks();
    // One store of sent messages: the sender writes it, the socket serves resends from it.
    const sent = new SentStore(sql);
    // Statuses of sent messages: journaled here, flushed to D1 in batches.
    this.journal = new StatusJournal(sql);
    this.flusher = new StatusFlush(env, this.journal, () => this.meta.config(), () => this.outbox.hasHeld(), (at) => this.schedule.set("flush", at));
    const pending = new PendingVerdicts(env, this.flusher.hooks, () => this.meta.config());
    // Groups sent into: read by the sender, and by Baileys as its cachedGroupMetadata.
    const groups = new GroupDirectory();
    this.sender = new MessageSender(env, sql, acks, sent, this.outbox, this.journal, this.flusher, pending, groups);
    const receipts = new Receipts(env, acks, this.journal, this.flusher);
    this.receiver = new MessageReceiver(env, sql, receipts);
    this.bot = new AutoReply(env, sql);
    const onEvents = (events: Parameters<GroupDirectory["onEvents"]>[0], socket: WASocket) => {
      groups.onEvents(events);
      return this.lifecycle.onEvents(events, socket);
    };
    this.conn = new SessionSocket(env, ctx.storage, this.meta, this.schedule, onEvents, sent, groups.cached);
    const parts = { env, meta: this.meta, status: this.status, stream: this.stream, schedule: this.schedule, outbox: this.outbox, socket: this.conn };
    this.drain = new OutboxDrain({ ...parts, sender: this.sender, bot: this.bot, sent });
    this.lifecycle = new Lifecycle({ ...parts, drain: this.drain, receiver: this.receiver, receipts, sql });
    // Run overdue work on wake: a session that should be linked but lost its socket to an
    // eviction or a deploy reconnects now rather than at the next alarm.
    ctx.blockConcurrencyWhile(async () => {
      if (this.config() && wantsSocket(this.meta.state()) && !this.schedule.has("reconnect")) this.conn.open();
      // D1 is the truth: after a restart, adopt accepted messages whose hand-off was lost. On
      // the alarm (due at once), not here: the request that woke the object is not held up
      // by the D1 reads; they follow right after it, once per wake.
      if (this.config()) await this.schedule.set("reconcile", Date.now());
    });
  }

  // ---- RPC used by the API ----

  async start(config: SessionConfig): Promise<void> {
    this.meta.setConfig(config);
    this.meta.writeState({ ...INITIAL_STATE, running: true });
    this.stream.publish("status", { status: "pending", reason: null });
    await this.schedule.clear("reconnect", "idle", "wake");
    this.conn.open();
  }

  /** The current QR, waiting up to `timeoutMs` for one while the session is pending. */
  async waitForQr(timeoutMs: number): Promise<string | null> {
    const state = this.meta.state();
    if (state.status !== "pending") return null;
    if (this.conn.qr) return this.conn.qr;
    if (!this.conn.current && state.running) this.conn.open();
    return this.conn.nextQr(timeoutMs);
  }

  /** A pairing code for `phone`, once WhatsApp accepted the request (pairing-code.ts). */
  async requestPairingCode(phone: string, timeoutMs?: number): Promise<PairingCodeAnswer> {
    // One request at a time: a second code would replace the first one's creds mid-flight.
    if (this.pairingInFlight) return { kind: "busy" };
    this.pairingInFlight = true;
    try {
      // Baileys can ask for a code once the socket is up and waiting to be linked.
      const qr = await this.waitForQr(15_000);
      const socket = this.conn.current;
      if (!qr || !socket) throw rpcError(409, "The session is not ready to pair; reconnect it and try again.");
      const answer = await requestPairingCode(socket, this.conn.auth(), this.conn.browserTuple(), phone, timeoutMs);
      if (answer.kind !== "code") log.warn({ session: this.config()?.id, answer }, "WhatsApp did not accept the pairing-code request");
      return answer;
    } finally {
      this.pairingInFlight = false;
    }
  }

  /**
   * Adopts this session's accepted messages that D1 holds and the outbox does not (the
   * recovery sweep calls it for sessions with stale sends): a full pass, as those rows may
   * predate any incremental window. Safe to repeat. `sessionId` (this object's name) lets a
   * deleted session, whose storage is gone, fail what D1 still holds for it.
   */
  async reconcile(sessionId?: string): Promise<{ adopted: number }> {
    if (!this.config()) {
      if (sessionId) await this.drain.failOrphanedSends(sessionId);
      return { adopted: 0 };
    }
    // Statuses journaled before an eviction: the sweep's call flushes them too.
    if (this.flusher.orphaned()) await this.flusher.flush();
    // A campaign's backlog looks stale to the sweep for as long as it is sending: one full
    // pass per RECONCILE_EVERY_MS is enough, the passes in between are incremental.
    const full = Date.now() - this.fullReconciledAt >= RECONCILE_EVERY_MS;
    if (full) this.fullReconciledAt = Date.now();
    return { adopted: await this.drain.reconcile(full) };
  }

  /** Takes messages from the send queue into the outbox; repeats of a held id are ignored. */
  async enqueue(items: OutboxItem[]): Promise<{ accepted: number }> {
    if (!this.config()) {
      // The session was deleted while these were on their way: fail them (and refund).
      for (const item of items) await this.sender.fail(item.messageId, "session_deleted");
      return { accepted: 0 };
    }
    return { accepted: await this.drain.accept(items) };
  }

  /**
   * Fails (and refunds) messages that never reached this outbox, for a caller outside it (the
   * send queue's dead letters, a refused queue hand-off). Only this object knows whether one was
   * acked: an acked or in-flight id is left alone (D1 may still say `queued` until the journal's
   * flush), the others leave the outbox before D1 fails them. Returns the ids failed now.
   */
  async failUnsent(ids: string[], reason: string): Promise<{ failed: string[] }> {
    const free = this.releaseUnsent(ids, reason);
    const rows = await failMessages(database(this.env), free, reason);
    // The failure is recorded either way; a lost event is logged, not retried.
    for (const row of rows) await emitMessageEvent(this.env, "message.failed", row).catch((err: unknown) => log.error({ message: row.id, err }, "message.failed not emitted"));
    return { failed: rows.map((r) => r.id) };
  }

  /** Of these ids, those the caller may fail itself: they leave the outbox now (see failUnsent). */
  releaseUnsent(ids: string[], reason: string): string[] {
    return this.config() ? this.outbox.releaseUnsent(ids, reason) : ids;
  }

  /** The auto-reply bot's settings; null when never set. */
  getBot(): BotSettings | null {
    return this.bot.get();
  }

  /** Replaces the bot's settings (validated by the API). */
  putBot(settings: BotSettings): BotSettings {
    return this.bot.put(settings);
  }

  /** Deletes a sent message for everyone in the chat (WhatsApp's "delete for everyone"). */
  async revoke(to: string, providerMessageId: string): Promise<void> {
    const socket = await this.connectedSocket();
    await this.sender.revoke(socket, to, providerMessageId);
    await this.conn.touchIdle();
  }

  /** One group operation (groups.ts); WhatsApp's refusals come back as values, not errors. */
  async groups(op: GroupOp): Promise<GroupAnswer> {
    const socket = await this.connectedSocket();
    const answer = await runGroupOp({ env: this.env, socket }, op);
    await this.conn.touchIdle();
    return answer;
  }

  /** One people-and-chats operation (people.ts); WhatsApp's refusals come back as values. */
  async people(op: PeopleOp): Promise<PeopleAnswer> {
    return runPeopleOp({ env: this.env, socket: await this.connectedSocket(), config: this.config()!, sql: this.ctx.storage.sql }, op).finally(() => this.conn.touchIdle());
  }

  /** The decrypted media of an incoming message, or null when this session never received it. */
  async incomingMedia(messageId: string): Promise<{ bytes: Uint8Array; mimetype: string } | null> {
    return this.receiver.incomingMedia(this.conn.current, messageId);
  }

  snapshot(): SessionSnapshot {
    const s = this.meta.state();
    return {
      status: s.status,
      reason: s.reason,
      qr: s.status === "pending" ? this.conn.qr : null,
      phoneNumber: s.phoneNumber,
      displayName: s.displayName,
      socketOpen: Boolean(this.conn.current),
    };
  }

  /** Keeps the link; closes the socket and stops reconnecting until `reconnect`. */
  async disconnect(): Promise<void> {
    await this.conn.close();
    await this.schedule.clear("reconnect", "idle", "wake");
    const state = this.meta.state();
    await this.status.set({
      running: false,
      sleeping: false,
      attempts: 0,
      // A ban stays, but its retry at expiry was just dropped: no expiry is promised any more.
      bannedUntil: null,
      ...(state.status === "banned" ? {} : { status: "disconnected", reason: "disconnected_by_user" }),
    });
  }

  /** Reopens; when the link is gone the session goes back to `pending` with a new QR. */
  async reconnect(config?: SessionConfig): Promise<{ linked: boolean }> {
    if (config) this.meta.setConfig(config);
    await this.conn.close();
    await this.schedule.clear("reconnect", "idle", "wake");
    const linked = this.conn.isLinked();
    if (!linked) this.conn.auth().wipe();
    await this.status.set({
      running: true,
      sleeping: false,
      attempts: 0,
      restarted: false,
      bannedUntil: null,
      status: linked ? this.meta.state().status : "pending",
      reason: linked ? "reconnecting" : null,
    });
    this.conn.open();
    return { linked };
  }

  /** Unlinks from the phone (when linked and reachable) and wipes the keys. */
  async logout(): Promise<void> {
    await this.lifecycle.unlink();
    await this.status.set({ status: "disconnected", reason: "logged_out", running: false, sleeping: false, attempts: 0, bannedUntil: null });
  }

  /** Logs out when linked, then erases everything this object stored. */
  async destroy(): Promise<void> {
    // The journal goes to D1 before the storage does: a sent message must not be failed and
    // refunded by the route's cleanup. Tried once while still linked, so a D1 outage refuses
    // the delete before the phone is unlinked.
    const unsaved = () => rpcError(503, "The session's message statuses could not be saved; try again.");
    await this.flusher.flush();
    if (this.journal.size() > 0) throw unsaved();
    // Nothing may journal a status after the final check: the socket (acks, receipts) closes
    // and the drain stops first.
    await this.lifecycle.unlink();
    await this.drain.stop();
    await this.flusher.flush();
    if (this.journal.size() > 0) {
      // Kept (and retried by the flush's timer and the alarm) until the caller tries again. The
      // phone is already unlinked: the session stands as after a logout, and the drain settles
      // what it holds (acked messages recorded, the rest failed as logged out).
      await this.status.set({ status: "disconnected", reason: "logged_out", running: false, sleeping: false, attempts: 0, bannedUntil: null });
      await this.drain.resume();
      await this.schedule.syncAlarm();
      throw unsaved();
    }
    this.stream.closeAll();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    // This instance may still be called until it is evicted (a recovery sweep, a late queue
    // message): it must then behave as a fresh, never-started object, not fail on missing
    // tables. So the schema is made again, as the constructor does.
    this.conn.forget();
    this.drain.forget();
    this.journal.forget();
    migrateSessionSchema(this.ctx.storage);
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
    // dropped the socket, and must not wait behind the reconcile's round trips (nor the flush).
    for (const task of due) if (task.kind === "reconnect") await this.runDue(task);
    // Statuses journaled before a crash or eviction: nothing else would flush them.
    if (this.flusher.orphaned()) await this.flusher.flush();
    // Before sending: on wake, and every RECONCILE_EVERY_MS of alarms, adopt from D1.
    if (due.some((t) => t.kind === "reconcile") || Date.now() - this.drain.reconciledAt >= RECONCILE_EVERY_MS) await this.drain.reconcile();
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
      const session = this.config()?.id;
      log.error({ session, task: task.kind, err }, "session task failed");
      if (task.kind === "outbox") await this.schedule.set("outbox", Date.now() + OUTBOX_RECHECK_MS);
      else if (this.meta.state().running && !this.conn.current && !this.schedule.has("reconnect")) {
        // The retry is armed before D1 is written; a D1 failure here must not escape alarm().
        await this.lifecycle.scheduleReconnect("task_failed").catch((e: unknown) => log.error({ session, err: e }, "status not saved"));
      }
    }
  }

  private async runTask(task: DueTask): Promise<void> {
    if (!this.config()) return;
    // The outbox must reach a final state for every message, even when the session stopped.
    if (task.kind === "outbox") return this.drain.run();
    // The backstop of a flush whose timer died with the object (status-flush.ts).
    if (task.kind === "flush") await this.lifecycle.flushGroupEvents();
    if (task.kind === "flush") return this.flusher.flush();
    if (!this.meta.state().running || task.kind === "reconcile") return;
    await this.lifecycle.runTask(task.kind);
  }

  /** A logged-in socket, waking a sleeping (on_demand) or evicted session for the work. */
  private async connectedSocket(timeoutMs = 15_000): Promise<WASocket> {
    const state = this.meta.state();
    if (state.status !== "connected" && !(state.status === "disconnected" && this.schedule.has("reconnect"))) {
      throw rpcError(409, `The session is ${state.status}.`);
    }
    if (!this.conn.current && state.running) {
      await this.status.set({ sleeping: false });
      this.conn.open();
    }
    const socket = await this.conn.whenReady(timeoutMs);
    if (!socket) throw rpcError(409, "The session did not come online in time; try again.");
    return socket;
  }

  /** What a new stream subscriber sees first: the live QR while pending, and the status. */
  private initialEvents(): StoredEvent[] {
    const events: StoredEvent[] = [];
    const qr = this.stream.latest("qr");
    if (this.meta.state().status === "pending" && this.conn.qr && qr) events.push(qr);
    const status = this.stream.latest("status");
    if (status) events.push(status);
    return events.sort((a, b) => a.id - b.id);
  }

  private config(): SessionConfig | undefined {
    return this.meta.config();
  }
}
