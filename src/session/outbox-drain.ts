import { database } from "../db/client";
import { failPendingOfSession } from "../db/messages.status";
import { sessionRowExists } from "../db/sessions.repo";
import { outboxRetryDelayMs } from "../domain/backoff";
import { isPhoneRecipient } from "../domain/phone";
import { emitMessageEvent } from "../events/message-events";
import { log } from "../platform/log";
import type { OutboxItem } from "../domain/outbox-item";
import type { AutoReply, ReceivedMessage } from "./auto-reply";
import { wakesForWork } from "./connection-mode";
import type { MessageSender } from "./message-sender";
import type { Outbox, OutboxEntry } from "./outbox";
import { Reconciler } from "./reconcile";
import type { Schedule } from "./schedule";
import type { SentStore } from "./sent-store";
import type { SessionMeta } from "./session-state";
import type { SessionSocket } from "./session-socket";
import type { SessionConfig } from "./session.types";
import type { WASocket } from "baileys";
import type { StatusReporter } from "./status-reporter";

// Drains the outbox on the `outbox` task and when messages arrive: unpaced ones several at a time
// (one per chat), paced ones alone, within one bounded run;
// waits while the socket is down, fails what can never be sent. Also keeps the outbox in step
// with D1 (reconcile) and takes the bot's replies straight in.

// Messages wait this long for a session that is down before they fail (and are refunded). One
// whose frame went out without an ack fails as `unconfirmed`: it may have been delivered.
const OUTBOX_MAX_WAIT_MS = 24 * 60 * 60_000;
export const OUTBOX_RECHECK_MS = 30_000;
// One alarm run sends for at most this long, then yields to the next alarm.
// Short, so other calls to this object (and, locally, to the whole runtime) are not held up.
const OUTBOX_BURST_MS = 1_000;
// After a kick, the alarm comes this much later in case the object died meanwhile.
const KICK_BACKSTOP_MS = 5_000;
// Besides wake-ups, an alarm reconciles the outbox with D1 at most this often.
export const RECONCILE_EVERY_MS = 5 * 60_000;

// Unpaced messages in flight at once (each to another chat): the next is written while the
// ones before wait for their server acks.
const PIPELINE_DEPTH = 16;
// New numbers are resolved this many messages ahead (number-directory.ts): one server round
// trip of each kind for them all, and a bounded piece of work before the loop turns again.
const PREFETCH_AHEAD = 32;

// Digits only: not a group, nor a chat kept by its LID (a bot's reply to a sender without a number).
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
  private active: Promise<void> | undefined;
  private again = false;
  /** A burst is being sent now (tests read it to tell "in a run" from "between runs"). */
  sending = false;
  private stopped = false;

  constructor(private readonly p: DrainParts) {}

  /** After the object's storage was erased: the next reconcile starts from nothing. */
  forget(): void {
    this.p.outbox.forgetCache();
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

  /**
   * Takes accepted messages (repeats of a held id are ignored) and starts sending them. The
   * caller has just read them as pending in D1 (the accept, or the send queue's consumer), so
   * they are not read again before their send.
   */
  async accept(items: OutboxItem[]): Promise<number> {
    const accepted = this.p.outbox.add(items);
    this.p.sender.pending.vouch(items.map((i) => i.messageId));
    // The kick sends what is due now; the alarm is only the backstop should this object die first
    // (an alarm due at once would run a second, empty pass behind the kick's).
    const at = this.p.outbox.nextSendAt();
    if (at !== null) await this.p.schedule.set("outbox", at <= Date.now() ? Date.now() + KICK_BACKSTOP_MS : at);
    this.kick();
    return accepted;
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
    if (added > 0) {
      await this.schedule();
      this.kick();
    }
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
    this.p.outbox.prune();
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
   * Sends what is due (sendBurst), one pass at a time, within one bounded run. Waits while
   * the socket is down; fails everything when the session can no longer send at all.
   */
  async run(): Promise<void> {
    if (this.stopped) return;
    // One pass at a time (the alarm and an enqueue's kick may meet): a second caller gets the
    // running pass, which goes round once more for what it may have missed.
    if (this.active) {
      this.again = true;
      return this.active;
    }
    const pass = (async () => {
      try {
        do {
          this.again = false;
          await this.runOnce();
        } while (this.again && !this.stopped);
      } finally {
        // In the same turn as the last check of `again`: a caller after it starts a new pass.
        this.active = undefined;
      }
    })();
    this.active = pass;
    this.running = pass.catch(() => {});
    return pass;
  }

  /**
   * Messages were just added: send them now rather than when the alarm fires (the alarm set
   * by schedule() stays the backstop). A failure is the alarm's to retry.
   */
  kick(): void {
    // After the caller's answer has gone: the send's own work must not delay the accept.
    setTimeout(() => this.startRun(), 0);
  }

  private startRun(): void {
    void this.run().catch((err: unknown) => log.error({ session: this.p.meta.config()?.id, err }, "outbox run failed; the alarm retries"));
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
    this.sending = true;
    let socketEnding: boolean;
    try {
      socketEnding = await this.sendBurst(socket.current, config, Date.now() + OUTBOX_BURST_MS);
    } finally {
      this.sending = false;
    }
    await socket.touchIdle();
    // The next socket's `open` reschedules the outbox; until then only the usual recheck.
    if (socketEnding) return this.p.schedule.set("outbox", Date.now() + OUTBOX_RECHECK_MS);
    await this.schedule();
  }

  /**
   * Sends until `deadline`: unpaced messages up to PIPELINE_DEPTH at once (one per chat, so each
   * chat keeps its order), a paced one alone. Returns whether the socket is ending.
   */
  private async sendBurst(socket: WASocket, config: SessionConfig, deadline: number): Promise<boolean> {
    const { outbox, sender } = this.p;
    const inFlight = new Map<string, { chat: string; paced: boolean; done: Promise<void> }>();
    let socketEnding = false;
    const settle = async (entry: OutboxEntry) => {
      const outcome = await sender.send(socket, config, entry).catch((err: unknown) => {
        log.error({ message: entry.item.messageId, err }, "send threw; will retry");
        return "retry" as const;
      });
      if (outcome === "retry") {
        outbox.postpone(entry.item.messageId, Date.now() + outboxRetryDelayMs(entry.attempts));
      } else if (outcome === "unacked") {
        // That socket is ending (message-sender.ts): the resend waits for the next one.
        outbox.requeue(entry.item.messageId);
        socketEnding = true;
      } else {
        // delay_between counts from the server's ack: consecutive messages are at least that far
        // apart however the ack's delay varies, by their sent_at as by when WhatsApp got them.
        const paced = outcome === "sent" && entry.item.delayBetweenMs > 0;
        outbox.finish(entry.item.messageId, paced ? entry.item.delayBetweenMs : 0);
      }
    };
    try {
      for (;;) {
        // A paced message in flight goes alone: nothing is taken beside it (its pause follows it).
        const pacedInFlight = [...inFlight.values()].some((f) => f.paced);
        if (!pacedInFlight && !socketEnding && !this.stopped && Date.now() < deadline && this.p.socket.current === socket) {
          const busy = new Set([...inFlight.values()].map((f) => f.chat));
          const taken = outbox.takeReady(PIPELINE_DEPTH - inFlight.size, busy, Date.now(), new Set(inFlight.keys()));
          if (taken.some((e) => isPhoneRecipient(e.item.to) && sender.numbers.needs(socket, e.item.to))) {
            // Not the chats in flight: their sends hold Baileys' key transaction for those sessions.
            await sender.numbers.prefetch(socket, outbox.upcomingRecipients(PREFETCH_AHEAD).filter((to) => isPhoneRecipient(to) && !busy.has(to)));
            await yieldToEventLoop();
          }
          for (const entry of taken) {
            const id = entry.item.messageId;
            inFlight.set(id, { chat: entry.item.to, paced: entry.item.delayBetweenMs > 0, done: settle(entry).finally(() => inFlight.delete(id)) });
          }
        }
        if (inFlight.size === 0) return socketEnding;
        // Whichever settles first frees a place (and its chat) for the next. Then a real turn of
        // the event loop: Baileys' work for a send is mostly one chain of microtasks, and calls to
        // this object (locally, to every object) wait until the loop turns.
        await Promise.race([...inFlight.values()].map((f) => f.done));
        await yieldToEventLoop();
      }
    } finally {
      // A settle that could not record its outcome fails the pass (the alarm retries it; its row
      // stays `sending`, retaken with the same id), but only once the other sends settled.
      await Promise.allSettled([...inFlight.values()].map((f) => f.done));
    }
  }
}
