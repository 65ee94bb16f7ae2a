import { RECEIPTS_PER_STATEMENT, receiptStatements } from "../db/messages.receipts";
import { flushMessageChanges, HookCache } from "../events/message-batch";
import { log } from "../platform/log";
import type { SessionConfig } from "./session.types";
import type { StatusJournal } from "./status-journal";

// Moves the status journal (status-journal.ts) to D1, FLUSH_AT changes at a time (events/
// message-batch.ts: a few D1 batches and queue sends each): when FLUSH_AT wait; FLUSH_DELAY_MS
// after the first one while the outbox is idle; mid-burst (the outbox holds messages) once the
// oldest is BURST_MAX_AGE_MS old, so a burst costs a few flushes and D1 lags by at most that.
// A change leaves the journal only once D1 has it. Nothing is armed in memory after a crash:
// the object's next alarm (or the recovery sweep's reconcile call) flushes the orphaned journal.

const FLUSH_AT = 100;
const FLUSH_DELAY_MS = 1_000;
const BURST_MAX_AGE_MS = 5_000;
const RETRY_MS = 5_000;
const RECEIPTS_PER_FLUSH = 5 * RECEIPTS_PER_STATEMENT;

export class StatusFlush {
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the oldest unflushed change was noted (in memory; a wake flushes at its alarm). */
  private firstNotedAt: number | undefined;
  private running: Promise<void> | undefined;
  /** Test hook: while set, flushes do nothing (to stop the object between a journal write and its flush). */
  heldByTest = false;
  readonly hooks = new HookCache();

  constructor(
    private readonly env: Env,
    private readonly journal: StatusJournal,
    private readonly config: () => SessionConfig | undefined,
    /** Whether a burst is going on (the outbox holds messages). */
    private readonly busy: () => boolean = () => false,
    /** Arms the object's alarm for a flush, should the in-memory timer die with the object. */
    private readonly backstop: (dueAt: number) => Promise<void> = async () => {},
  ) {}

  /** A change was journaled: flush now when enough wait, else soon. */
  noted(): void {
    if (this.firstNotedAt === undefined) {
      this.firstNotedAt = Date.now();
      // The timer below is memory only: an eviction would leave receipts unflushed until some
      // later alarm (days for a sleeping session), so the alarm table holds a backstop.
      this.backstop(this.firstNotedAt + BURST_MAX_AGE_MS + RETRY_MS).catch((err: unknown) => log.warn({ err }, "flush backstop not armed"));
    }
    if (this.journal.size() >= FLUSH_AT) void this.flush();
    else this.arm(FLUSH_DELAY_MS);
  }

  /** Changes are waiting and nothing will flush them (the object woke after a crash). */
  orphaned(): boolean {
    return !this.timer && !this.running && this.journal.size() > 0;
  }

  /** Flushes everything journaled (one run at a time); a D1 failure is retried later. */
  async flush(): Promise<void> {
    if (this.heldByTest) return;
    this.running ??= this.flushAll().finally(() => (this.running = undefined));
    await this.running;
  }

  private arm(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const age = Date.now() - (this.firstNotedAt ?? 0);
      // Mid-burst: more changes are coming; wait for them, up to the burst bound.
      if (this.busy() && age < BURST_MAX_AGE_MS) return this.arm(Math.min(FLUSH_DELAY_MS, BURST_MAX_AGE_MS - age));
      void this.flush();
    }, ms);
  }

  private async flushAll(): Promise<void> {
    const config = this.config();
    if (!config) return;
    this.firstNotedAt = undefined;
    try {
      for (;;) {
        const entries = this.journal.take(FLUSH_AT);
        if (entries.length === 0) break;
        await flushMessageChanges(this.env, { accountId: config.accountId, sessionId: config.id, cache: this.hooks }, entries.map((e) => e.change));
        this.journal.remove(entries);
      }
      // Participant receipts: many per statement, one D1 batch per RECEIPTS_PER_FLUSH.
      for (;;) {
        const entries = this.journal.takeReceipts(RECEIPTS_PER_FLUSH);
        if (entries.length === 0) break;
        await this.env.DB.batch(receiptStatements(this.env.DB, entries.map((e) => e.receipt)));
        this.journal.removeReceipts(entries);
      }
    } catch (err) {
      log.warn({ session: config.id, err }, "status flush failed; will retry");
      this.arm(RETRY_MS);
      // And the alarm's backstop again, in case the object is evicted before that timer.
      this.backstop(Date.now() + 2 * RETRY_MS).catch((e: unknown) => log.warn({ err: e }, "flush backstop not armed"));
    }
  }
}
