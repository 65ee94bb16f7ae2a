import type { BaileysEventMap, WASocket } from "baileys";
import { attemptsAfterClose, backoffExhausted, reconnectDelay } from "../domain/backoff";
import { jidToPhone } from "../domain/phone";
import { qrPngDataUrl } from "../domain/qr";
import { toTimestamp } from "../domain/time";
import { classifyDisconnect, SLOW_RETRY_REASON, type DisconnectSource, type ServerWord } from "../domain/session-status";
import { log } from "../platform/log";
import { afterLogin, onWake, sleepUntil } from "./connection-mode";
import { closeSource, serverWord, type CloseError } from "./disconnect";
import type { EventStream } from "./event-stream";
import { GroupEvents } from "./group-events";
import { GroupJournal } from "./group-journal";
import { lidLookup } from "./jid-numbers";
import type { OutboxDrain } from "./outbox-drain";
import { PeopleEvents } from "./people-events";
import type { MessageReceiver } from "./receive";
import { groupReceiptsOf, type Receipts } from "./receipts";
import type { Schedule } from "./schedule";
import type { SessionMeta } from "./session-state";
import type { SessionSocket } from "./session-socket";
import type { StatusReporter } from "./status-reporter";

// The socket's life: what its events do (QR, login, messages, receipts, close), the reconnect
// backoff after a close, and the socket tasks of the alarm (reconnect, idle, wake).

export interface LifecycleParts {
  env: Env;
  /** The object's SQLite (group events are journaled there first: group-journal.ts). */
  sql: SqlStorage;
  meta: SessionMeta;
  status: StatusReporter;
  stream: EventStream;
  schedule: Schedule;
  socket: SessionSocket;
  drain: OutboxDrain;
  receiver: MessageReceiver;
  receipts: Receipts;
}

export class Lifecycle {
  /** Group notifications → group.* webhook events, journaled before they are emitted. */
  private readonly groups: GroupEvents;
  private readonly groupJournal: GroupJournal;
  /** Contacts, chats, presence and blocklist events (people-events.ts). */
  private readonly people: PeopleEvents;

  constructor(private readonly p: LifecycleParts) {
    this.groupJournal = new GroupJournal(p.env, p.sql, () => p.meta.config(), (at) => p.schedule.set("flush", at));
    this.groups = new GroupEvents(p.meta, this.groupJournal);
    this.people = new PeopleEvents({ env: p.env, sql: p.sql, config: () => p.meta.config() ?? null });
  }

  /** Group events a failed emit or an eviction left in the journal (the `flush` task). Never throws. */
  flushGroupEvents(): Promise<void> {
    return this.groupJournal.flush();
  }

  async onEvents(events: Partial<BaileysEventMap>, socket: WASocket): Promise<void> {
    // Before any await: a later emit's handling may overtake this one's (group-events.ts).
    this.groups.note(events);
    const { meta, stream, schedule, status, drain } = this.p;
    // A socket being closed by us still delivers its flushed messages (session-socket.ts retiring);
    // nothing else of it counts, least of all its close.
    const retiring = socket !== this.p.socket.current;
    if (retiring && socket !== this.p.socket.retiring) return;
    const update = events["connection.update"] ?? {};
    // Each part runs on its own: a failing D1 write for a message must not keep the session
    // from noticing that its socket closed (or the reverse).
    const step = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        log.error({ session: meta.config()?.id, step: what, err }, "session event step failed");
      }
    };
    if (retiring) {
      // Receipts in the same flush were acked to the server too.
      const updates = events["messages.update"];
      const config = meta.config();
      if (updates && config) await step("receipts", () => this.p.receipts.onUpdates(config, updates));
      const groupReceipts = groupReceiptsOf(events);
      if (groupReceipts.length && config) await step("group receipts", () => this.p.receipts.onGroupReceipts(config, groupReceipts, socket));
      const upsert = events["messages.upsert"];
      if (upsert) await this.storeUpsert(upsert, socket);
      await step("groups", () => this.groups.onEvents(events, socket));
      await step("people", () => this.people.onEvents(events, socket));
      return;
    }

    if (update.qr) {
      const qr = update.qr;
      this.p.socket.showQr(qr);
      await step("qr", async () => {
        stream.publish("qr", { qr, qr_code: await qrPngDataUrl(qr) });
        await status.emit("session.qr", { qr });
      });
    }

    if (update.connection === "open") {
      this.p.socket.loggedIn();
      await step("open", async () => {
        const me = this.p.socket.auth().state.creds.me;
        const phoneNumber = me?.id ? jidToPhone(me.id.replace(/:\d+@/, "@")) : null;
        const displayName = me?.name ?? me?.verifiedName ?? null;
        // Local state, then the schedule, then D1. `attempts` stays: only a login that lasts
        // resets the ladder (attemptsAfterClose), so a server that drops every login is backed off.
        const before = meta.state();
        const after = { ...before, status: "connected" as const, reason: null, phoneNumber, displayName, sleeping: false, openedAt: Date.now(), restarted: false, bannedUntil: null };
        meta.writeState(after);
        await schedule.clear("reconnect");
        const next = afterLogin(meta.config()!, Date.now());
        await schedule.set(next.kind, next.at);
        await drain.schedule();
        await status.publish(before, after);
        stream.publish("connected", { phone_number: phoneNumber, display_name: displayName });
      });
    }

    const updates = events["messages.update"];
    if (updates) await step("receipts", () => this.p.receipts.onUpdates(meta.config()!, updates));
    const groupReceipts = groupReceiptsOf(events);
    if (groupReceipts.length) await step("group receipts", () => this.p.receipts.onGroupReceipts(meta.config()!, groupReceipts, socket));
    const upsert = events["messages.upsert"];
    if (upsert) await this.storeUpsert(upsert, socket);
    await step("groups", () => this.groups.onEvents(events, socket));
    await step("people", () => this.people.onEvents(events, socket));

    if (update.connection === "close") {
      this.p.socket.closed();
      const error = update.lastDisconnect?.error as CloseError | undefined;
      await this.handleClose(error?.output?.statusCode, error?.message, closeSource(error), serverWord(error));
    }
  }

  /** Received messages: stored (and webhooks queued), bot replies queued. */
  private async storeUpsert(upsert: BaileysEventMap["messages.upsert"], socket: WASocket): Promise<void> {
    const { meta, drain } = this.p;
    try {
      const config = meta.config();
      if (!config) return;
      const phone = meta.state().phoneNumber;
      const ids = { ownLid: this.p.socket.auth().state.creds.me?.lid ?? null, lookup: lidLookup(socket) };
      const received = await this.p.receiver.onUpsert(config, upsert, phone, ids);
      if (received.length > 0) {
        await drain.addBotReplies(config, received, phone);
        await this.p.socket.touchIdle();
      }
    } catch (err) {
      log.error({ session: meta.config()?.id, step: "messages", err }, "session event step failed");
    }
  }

  private async handleClose(statusCode: number | undefined, message: string | undefined, source: DisconnectSource, word?: ServerWord): Promise<void> {
    const { meta, socket, schedule, stream, status } = this.p;
    const before = meta.state();
    if (!before.running || before.sleeping) return;
    const state = { ...before, attempts: attemptsAfterClose(before.attempts, before.openedAt, Date.now()), openedAt: null };
    meta.writeState(state);
    const action = classifyDisconnect(statusCode, state.status !== "pending" || socket.isLinked(), source, word);
    log.warn({ session: meta.config()?.id, statusCode, source, error: message, action }, "session socket closed");
    switch (action.kind) {
      case "restart":
        // One immediate restart per login (the 515 after pairing); a second 515 with no login
        // in between would be a zero-delay loop, so it waits its turn in the backoff.
        if (!state.restarted) {
          meta.writeState({ ...state, restarted: true });
          socket.open();
        } else {
          await this.scheduleReconnect("restart_required");
        }
        return;
      case "reconnect":
        await this.scheduleReconnect(action.reason);
        return;
      case "stop": {
        if (action.unlinked) socket.auth().wipe();
        await schedule.clear("reconnect", "idle", "wake");
        // A temporary ban lifts by itself: one login is tried when it ends, with the same keys.
        const retryAt = action.retryAfterMs ? Date.now() + action.retryAfterMs : null;
        if (retryAt !== null) await schedule.set("reconnect", retryAt);
        const bannedUntil = retryAt !== null ? toTimestamp(retryAt) : null;
        stream.publish("error", { code: action.reason, message: message ?? action.reason, status_code: statusCode ?? null, ...(bannedUntil ? { banned_until: bannedUntil } : {}) });
        await status.set({ status: action.status, reason: action.reason, running: retryAt !== null, attempts: 0, bannedUntil });
      }
    }
  }

  async scheduleReconnect(reason: string): Promise<void> {
    const { meta, socket, schedule, stream, status } = this.p;
    const state = meta.state();
    const linked = state.status !== "pending" || socket.isLinked();
    if (backoffExhausted(state.attempts) && !linked) {
      // Never linked: nothing to keep, and only a person with a phone can finish it.
      await schedule.clear("reconnect");
      await status.set({ status: "failed", reason: "reconnect_failed", running: false });
      stream.publish("error", { code: "reconnect_failed", message: `Gave up after ${state.attempts} reconnect attempts.` });
      return;
    }
    // A linked session never gives up: past the fast ladder it retries slowly (about every
    // 15 min) and says so; the keys stay, and a login that lasts resets the ladder.
    const delay = reconnectDelay(state.attempts);
    const slow = backoffExhausted(state.attempts);
    // The retry first: D1 often fails in the same incident that dropped the socket, and the
    // session must come back whether or not its new status reached D1.
    await schedule.set("reconnect", Date.now() + delay);
    // A pending session keeps `pending` (it still needs a scan); a linked one shows the drop.
    await status.set({
      attempts: state.attempts + 1,
      bannedUntil: null,
      ...(state.status === "pending" ? {} : { status: "disconnected", reason: slow ? SLOW_RETRY_REASON : reason }),
    });
  }

  /** A due socket task of a running session. */
  async runTask(kind: "reconnect" | "idle" | "wake"): Promise<void> {
    const { meta, socket, schedule } = this.p;
    const config = meta.config();
    if (!config) return;
    switch (kind) {
      case "reconnect":
        // open() is a no-op while a socket is up; nothing to reconnect then.
        socket.open();
        break;
      case "idle": {
        // No D1 on this path: the wake is armed first and the state is local, so a failing D1
        // cannot leave an on_demand session with no socket and nothing that brings it back.
        const wakeAt = sleepUntil(config, Date.now());
        if (wakeAt !== null && !schedule.has("reconnect")) {
          await schedule.set("wake", wakeAt);
          meta.writeState({ ...meta.state(), sleeping: true });
          await socket.close();
        }
        break;
      }
      case "wake": {
        const wake = onWake(config, Date.now());
        if (wake.kind === "open") {
          meta.writeState({ ...meta.state(), sleeping: false });
          socket.open();
        } else {
          // A scheduled reconnect owns the timing (backoff, slow retry); the watchdog only
          // catches a socket lost with nothing scheduled (restart, eviction).
          if (!socket.current && !schedule.has("reconnect")) socket.open();
          await schedule.set("wake", wake.nextAt);
        }
        break;
      }
    }
  }

  /** Unlinks from the phone (when linked and reachable), closes the socket and wipes the keys. */
  async unlink(): Promise<void> {
    const { meta, socket, schedule } = this.p;
    const current = socket.current;
    if (current && meta.state().status === "connected") {
      try {
        // Tells WhatsApp to remove this companion device from the phone.
        await current.logout();
      } catch (err) {
        log.warn({ session: meta.config()?.id, err }, "logout request failed; wiping keys anyway");
      }
    }
    await socket.close();
    await schedule.clear("reconnect", "idle", "wake");
    if (meta.config()) socket.auth().wipe();
  }
}
