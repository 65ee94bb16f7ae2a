// The outbox reconciles with D1, the truth: accepted messages of this session that it does
// not hold (their queue message or hand-off was lost to a crash) are adopted. Adopting is
// idempotent: the outbox ignores an id it holds, and keeps finished ids a week, so a message
// adopted twice (or adopted and then also delivered by a late queue message) is sent once.
import type { Db } from "../db/client";
import { sessionBacklogPage, type BacklogStatus } from "../db/backlog.repo";
import { outboxItemOf } from "../db/send-rows";
import { toTimestamp } from "../domain/time";
import type { Outbox } from "./outbox";

// Rows accepted before the last full pass were seen by it; a row's created_at is taken before
// its transaction commits, so each pass looks this far behind the previous one's start.
const COMMIT_MARGIN_MS = 5 * 60_000;
const PAGE_SIZE = 200;
const PAGES_PER_RUN = 10;

const STATUSES: readonly BacklogStatus[] = ["queued", "scheduled"];

interface Pass {
  startedAt: number;
  /** Only rows created at or after this (incremental pass); null = every row (full pass). */
  since: string | null;
  status: BacklogStatus;
  after: { createdAt: string; id: string } | null;
}

export class Reconciler {
  /** Where an unfinished pass goes on (in memory: after a restart the pass starts over). */
  private resume: Pass | null = null;

  constructor(
    private readonly outbox: Outbox,
    private readonly sessionId: string,
    /** Fails in D1 (once, refunded) messages the outbox released whose failure did not land. */
    private readonly finishReleased: (ids: string[], reason: string) => Promise<void> = async () => {},
  ) {}

  /**
   * One run: adopts up to PAGES_PER_RUN pages. `complete` false = call again soon. `full`
   * reads every pending row of the session (the recovery sweep asks for it: its rows may be
   * older than any incremental window); otherwise only rows since the last full pass.
   */
  async run(db: Db, options: { full?: boolean; at?: number } = {}): Promise<{ adopted: number; complete: boolean }> {
    const at = options.at ?? Date.now();
    if (options.full && this.resume?.since) this.resume = null; // an incremental pass would miss old rows
    const last = this.outbox.reconciledAt();
    const pass: Pass = this.resume ?? {
      startedAt: at,
      since: options.full || last === null ? null : toTimestamp(last - COMMIT_MARGIN_MS),
      status: STATUSES[0],
      after: null,
    };
    let adopted = 0;
    for (let page = 0; page < PAGES_PER_RUN; page++) {
      const rows = await sessionBacklogPage(db, this.sessionId, { status: pass.status, since: pass.since, after: pass.after, limit: PAGE_SIZE });
      // Pending in D1 but released from the outbox (to be failed from outside, which did not
      // land): nothing would send or fail them, so the failure is finished here.
      const released = this.outbox.released(rows.map((r) => r.message.id));
      for (const [reason, ids] of byReason(released)) await this.finishReleased(ids, reason);
      adopted += this.outbox.add(rows.filter((r) => !released.has(r.message.id)).map((r) => outboxItemOf(r.message, r.delayBetween)));
      if (rows.length === PAGE_SIZE) {
        const tail = rows[rows.length - 1].message;
        pass.after = { createdAt: tail.createdAt, id: tail.id };
        continue;
      }
      const next = STATUSES.indexOf(pass.status) + 1;
      if (next < STATUSES.length) {
        pass.status = STATUSES[next];
        pass.after = null;
        continue;
      }
      this.resume = null;
      this.outbox.setReconciledAt(pass.startedAt);
      return { adopted, complete: true };
    }
    this.resume = pass;
    return { adopted, complete: false };
  }
}

function byReason(released: Map<string, string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [id, reason] of released) out.set(reason, [...(out.get(reason) ?? []), id]);
  return out;
}
