import { database } from "../db/client";
import { failPendingOfSession } from "../db/messages.status";
import { sessionRowExists } from "../db/sessions.repo";
import { outboxRetryDelayMs } from "../domain/backoff";
import { emitMessageEvent } from "../events/message-events";
import { log } from "../platform/log";
import type { AutoReply, ReceivedMessage } from "./auto-reply";
import { wakesForWork } from "./connection-mode";
import type { MessageSender } from "./message-sender";
import type { Outbox } from "./outbox";
import { Reconciler } from "./reconcile";
import type { Schedule } from "./schedule";
import type { SentStore } from "./sent-store";
import type { SessionMeta } from "./session-state";
import type { SessionSocket } from "./session-socket";
import type { SessionConfig } from "./session.types";
import type { StatusReporter } from "./status-reporter";

// Drains the outbox on the `outbox` task: one message at a time, paced, within one alarm run;
// waits while the socket is down, fails what can never be sent. Also keeps the outbox in step
// with D1 (reconcile) and takes the bot's replies straight in.

// Messages wait this long for a session that is down before they fail (and are refunded). One
// whose frame went out without an ack fails as `unconfirmed`: it may have been delivered.
const OUTBOX_MAX_WAIT_MS = 24 * 60 * 60_000;
export const OUTBOX_RECHECK_MS = 30_000;
// One alarm run sends for at most this long, then yields to the next alarm.
// Short, so other calls to this object (and, locally, to the whole runtime) are not held up.
const OUTBOX_BURST_MS = 1_000;
// Besides wake-ups, an alarm reconciles the outbox with D1 at most this often.
export const RECONCILE_EVERY_MS = 5 * 60_000;

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export interface DrainParts {
  env: Env;
  meta: SessionMeta;
  status: StatusReporter;
  schedule: Schedule;
  outbox: Outbox;
  socket: SessionSocket;
  sender: MessageSender;
  bot: AutoReply;
  sent: SentStore;
}

export class OutboxDrain {
  private reconciler: Reconciler | undefined;
  private reconciling: Promise<number> | undefined;
  /** Last reconcile with D1 (epoch ms; 0 after a wake, so the first alarm reconciles). */
  reconciledAt = 0;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly p: DrainParts) {}

  /** After the object's storage was erased: the next reconcile starts from nothing. */
  forget(): void {
    this.reconciler = undefined;
    this.stopped = false;
  }

  /** Sends nothing more (the session is being deleted); resolves once a running pass ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** A delete refused half-way: the drain settles what it holds again (as after a logout). */
  async resume(): Promise<void> {
    this.stopped = false;
    await this.schedule();
  }

  /** Arms the `outbox` task at the next send time, or clears it when nothing is held. */
  async schedule(): Promise<void> {
    const at = this.p.outbox.nextSendAt();
    if (at === null) return this.p.schedule.clear("outbox");
    await this.p.schedule.set("outbox", at);
  }

  /** Bot replies are already accepted (paid, stored); they go straight into this outbox. */
  async addBotReplies(config: SessionConfig, received: ReceivedMessage[], phone: string | null): Promise<void> {
    let added = 0;
    try {
      await this.p.bot.replies(config, received, phone, (item) => (added += this.p.outbox.add([item])));
    } catch (err) {
      // The incoming messages are stored either way; a failed reply must not break the socket.
      log.error({ session: config.id, err }, "bot reply failed");
    }
    if (added > 0) await this.schedule();
  }

  /**
   * One reconcile run at a time (the alarm and a sweep's call may meet); never throws. A full
   * pass asked for while an incremental one runs waits for it, then runs.
   */
  async reconcile(full = false): Promise<number> {
    if (full && this.reconciling) await this.reconciling;
    this.reconciling ??= this.reconcileOnce(full).finally(() => (this.reconciling = undefined));
    return this.reconciling;
  }

  /** Returns how many were adopted; a failure is retried by the alarm. */
  private async reconcileOnce(full: boolean): Promise<number> {
    const config = this.p.meta.config();
    if (!config) return 0;
    this.reconciledAt = Date.now();
    // Housekeeping on the alarm too: a session that stopped sending still forgets old content.
    this.p.sent.prune(Date.now(), true);
    try {
      this.reconciler ??= new Reconciler(this.p.outbox, config.id, async (ids, reason) => {
        for (const id of ids) await this.p.sender.fail(id, reason);
      });
      const { adopted, complete } = await this.reconciler.run(database(this.p.env), { full });
      if (adopted > 0) log.warn({ session: config.id, adopted }, "outbox adopted messages from D1");
      // Also when nothing was adopted: the `outbox` task may have been lost (takeDue removes it
      // before the drain runs; a crash in between leaves held entries with no task).
      if (adopted > 0 || (this.p.outbox.size() > 0 && !this.p.schedule.has("outbox"))) await this.schedule();
      if (!complete) await this.p.schedule.set("reconcile", Date.now());
      return adopted;
    } catch (err) {
      log.error({ session: config.id, err }, "outbox reconcile failed");
      await this.p.schedule.set("reconcile", Date.now() + OUTBOX_RECHECK_MS);
      return 0;
    }
  }

  /**
   * The session was deleted (its storage is gone) but D1 still holds unsent messages for it: a
   * crash between destroy() and the route's failPendingOfSession. Fail and refund them, as
   * enqueue() does, so they neither wait forever nor keep the recovery alarm running.
   */
  async failOrphanedSends(sessionId: string): Promise<void> {
    const db = database(this.p.env);
    if (await sessionRowExists(db, sessionId)) return; // not deleted: only never started here
    for (const failed of await failPendingOfSession(db, sessionId, "session_deleted")) await emitMessageEvent(this.p.env, "message.failed", failed);
  }

  /**
   * Sends what is due, one message at a time and paced, within one alarm run. Waits while
   * the socket is down; fails everything when the session can no longer send at all.
   */
  async run(): Promise<void> {
    if (this.stopped) return;
    const pass = this.runOnce();
    this.running = pass.catch(() => {});
    return pass;
  }

  private async runOnce(): Promise<void> {
    const { meta, outbox, sender, socket } = this.p;
    const config = meta.config();
    if (!config) return;
    const state = meta.state();
    if (state.status === "banned" || state.status === "failed" || state.reason === "logged_out") {
      for (const entry of outbox.held()) {
        // The server took an acked one: it is sent, whatever became of the session since.
        if (entry.ackedAt !== null) {
          sender.recordAcked(entry);
          outbox.finish(entry.item.messageId, 0);
          continue;
        }
        await sender.fail(entry.item.messageId, `session_${state.reason ?? state.status}`);
        outbox.forget(entry.item.messageId);
      }
      return this.schedule();
    }
    for (const entry of outbox.expired(Date.now() - OUTBOX_MAX_WAIT_MS)) {
      await sender.fail(entry.item.messageId, this.p.sent.has(entry.waId) ? "unconfirmed" : "session_unavailable");
      outbox.forget(entry.item.messageId);
    }
    if (!socket.current || !socket.ready || state.status !== "connected") {
      // Sleeping on_demand sessions wake for work; the `open` event reschedules the outbox.
      // A socket still logging in (after a restart) is waited for too, not sent through.
      if (wakesForWork(state)) {
        await this.p.status.set({ sleeping: false });
        socket.open();
      }
      if (outbox.size() > 0) await this.p.schedule.set("outbox", Date.now() + OUTBOX_RECHECK_MS);
      return;
    }
    const deadline = Date.now() + OUTBOX_BURST_MS;
    let socketEnding = false;
    while (Date.now() < deadline && socket.current && !this.stopped) {
      const entry = outbox.takeNext();
      if (!entry) break;
      const outcome = await sender.send(socket.current, config, entry);
      if (outcome === "retry") {
        outbox.postpone(entry.item.messageId, Date.now() + outboxRetryDelayMs(entry.attempts));
      } else if (outcome === "unacked") {
        // That socket is ending (message-sender.ts): the resend waits for the next one.
        outbox.requeue(entry.item.messageId);
        socketEnding = true;
        break;
      } else {
        // delay_between counts from when the frame was written, not from the ack.
        outbox.finish(entry.item.messageId, outcome === "sent" ? entry.item.delayBetweenMs : 0, Date.now(), outcome === "sent" ? sender.lastWrittenAt : undefined);
      }
      // Let other calls in between sends (locally every object shares one thread): a
      // `delay_between: 0` burst must not hold the runtime.
      await yieldToEventLoop();
    }
    await socket.touchIdle();
    // The next socket's `open` reschedules the outbox; until then only the usual recheck.
    if (socketEnding) return this.p.schedule.set("outbox", Date.now() + OUTBOX_RECHECK_MS);
    await this.schedule();
  }
}
