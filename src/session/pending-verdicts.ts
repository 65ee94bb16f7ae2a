import { pendingAndHooks, type HookCache } from "../events/message-batch";
import type { SessionConfig } from "./session.types";

// Whether a message about to be sent is still queued/scheduled in D1: one failed elsewhere (a
// refused queue hand-off) is never sent. A "pending" verdict is trusted PENDING_FRESH_MS; an id
// without one is read together with the ids due next, one D1 read per slice of a burst.

const PENDING_FRESH_MS = 10_000;

export class PendingVerdicts {
  private readonly seen = new Map<string, number>();
  private reading: Promise<void> | undefined;

  constructor(
    private readonly env: Env,
    /** The flush's webhook cache: the same read fills it when it is empty. */
    private readonly hooks: HookCache,
    private readonly config: () => SessionConfig | undefined,
  ) {}

  /** `upcoming`: the ids due next, read along with `id` when its verdict is stale. */
  async stillPending(id: string, upcoming: () => string[]): Promise<boolean> {
    // Sends in flight together share one read: the first one's covers the ids due next.
    while (this.reading && !this.fresh(id, Date.now())) await this.reading;
    if (this.fresh(id, Date.now())) return true;
    const read = this.read(id, upcoming);
    const reading = read.then(
      () => undefined,
      () => undefined,
    );
    this.reading = reading;
    try {
      return await read;
    } finally {
      if (this.reading === reading) this.reading = undefined;
    }
  }

  private fresh(id: string, at: number): boolean {
    return at - (this.seen.get(id) ?? -Infinity) < PENDING_FRESH_MS;
  }

  private async read(id: string, upcoming: () => string[]): Promise<boolean> {
    const at = Date.now();
    const fresh = (x: string) => this.fresh(x, at);
    for (const [x, when] of this.seen) if (at - when >= PENDING_FRESH_MS) this.seen.delete(x);
    const ids = [...new Set([id, ...upcoming()])].filter((x) => x === id || !fresh(x));
    const pending = await pendingAndHooks(this.env, this.config()?.accountId ?? "", this.hooks, ids);
    for (const x of pending) this.seen.set(x, at);
    return pending.has(id);
  }

  /** These were read as pending just now (by the caller handing them over). */
  vouch(ids: string[], at = Date.now()): void {
    for (const id of ids) this.seen.set(id, at);
  }

  /** The message left the outbox: its verdict is no longer needed. */
  forget(id: string): void {
    this.seen.delete(id);
  }
}
