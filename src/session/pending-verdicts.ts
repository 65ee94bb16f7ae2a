import { pendingAndHooks, type HookCache } from "../events/message-batch";
import type { SessionConfig } from "./session.types";

// Whether a message about to be sent is still queued/scheduled in D1: one failed elsewhere (a
// refused queue hand-off) is never sent. A "pending" verdict is trusted PENDING_FRESH_MS; an id
// without one is read together with the ids due next, one D1 read per slice of a burst.

const PENDING_FRESH_MS = 10_000;

export class PendingVerdicts {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly env: Env,
    /** The flush's webhook cache: the same read fills it when it is empty. */
    private readonly hooks: HookCache,
    private readonly config: () => SessionConfig | undefined,
  ) {}

  /** `upcoming`: the ids due next, read along with `id` when its verdict is stale. */
  async stillPending(id: string, upcoming: () => string[]): Promise<boolean> {
    const at = Date.now();
    const fresh = (x: string) => at - (this.seen.get(x) ?? -Infinity) < PENDING_FRESH_MS;
    if (fresh(id)) return true;
    for (const [x, when] of this.seen) if (at - when >= PENDING_FRESH_MS) this.seen.delete(x);
    const ids = [...new Set([id, ...upcoming()])].filter((x) => x === id || !fresh(x));
    const pending = await pendingAndHooks(this.env, this.config()?.accountId ?? "", this.hooks, ids);
    for (const x of pending) this.seen.set(x, at);
    return pending.has(id);
  }

  /** The message left the outbox: its verdict is no longer needed. */
  forget(id: string): void {
    this.seen.delete(id);
  }
}
