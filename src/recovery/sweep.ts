import { database } from "../db/client";
import { hasQueuedSends, sessionsWithStaleSends } from "../db/backlog.repo";
import { claimOverdueDeliveries, hasOwedDeliveries } from "../db/webhooks.repo";
import { toTimestamp } from "../domain/time";
import { wakeDeliveries } from "../events/emit";
import { sessionStub } from "../platform/bindings";
import { log } from "../platform/log";

// The recovery sweep: work whose queue message (or hand-off) may have been lost. D1 is the
// truth, queue messages are only wake-ups. The recovery object's alarm runs it (the same under
// `wrangler dev` and on Cloudflare); the cron runs it too, as a backstop.

// A delivery still owed this long after its attempt was due gets a new queue message. Its
// generation moves on, so the old message, should it still arrive, is acked unused; and its
// next claim is spaced further out each time (claimOverdueDeliveries), so queue lag is not
// answered with a new message every sweep.
const DELIVERY_OVERDUE_MS = 2 * 60_000;
// A message accepted this long ago and still queued makes its session reconcile with D1.
// The outbox ignores ids it holds or has finished, so this never sends twice.
const STALE_SEND_MS = 2 * 60_000;
const MAX_DELIVERIES_PER_RUN = 500;
// Sessions are asked a page at a time (in parallel within a page); a run covers this many pages.
const SESSIONS_PER_PAGE = 100;
const MAX_SESSION_PAGES = 50;

export type SweepEnv = Pick<Env, "DB" | "WEBHOOK_QUEUE" | "SESSION">;

/** Re-queues deliveries still owed (pending, or failed with a retry) whose message is overdue. */
export async function requeueOverdueDeliveries(env: Pick<Env, "DB" | "WEBHOOK_QUEUE">, now = Date.now()): Promise<number> {
  const claimed = await claimOverdueDeliveries(database(env), toTimestamp(now - DELIVERY_OVERDUE_MS), MAX_DELIVERIES_PER_RUN, now);
  // The retry schedule goes on where it stood: a failing endpoint still ends `dead`.
  await wakeDeliveries(env, claimed.map((c) => ({ id: c.id, generation: c.generation, attemptsBefore: c.attempts })));
  if (claimed.length) log.warn({ count: claimed.length }, "re-queued overdue webhook deliveries");
  return claimed.length;
}

/** Asks each session holding stale sends to reconcile its outbox with D1. Returns the sessions asked. */
export async function reconcileStaleSends(env: Pick<Env, "DB" | "SESSION">, now = Date.now()): Promise<number> {
  const db = database(env);
  const before = toTimestamp(now - STALE_SEND_MS);
  const asked = new Set<string>();
  for (const status of ["queued", "scheduled"] as const) {
    // Page by session id, so every session is reached however many hold stale sends.
    let after = "";
    for (let page = 0; page < MAX_SESSION_PAGES; page++) {
      const sessions = await sessionsWithStaleSends(db, status, before, { after, limit: SESSIONS_PER_PAGE });
      const fresh = sessions.filter((id) => !asked.has(id));
      for (const id of fresh) asked.add(id);
      await Promise.all(fresh.map((sessionId) => askToReconcile(env, sessionId)));
      if (sessions.length < SESSIONS_PER_PAGE) break;
      after = sessions[sessions.length - 1];
    }
  }
  return asked.size;
}

async function askToReconcile(env: Pick<Env, "SESSION">, sessionId: string): Promise<void> {
  try {
    await sessionStub(env, sessionId).reconcile(sessionId);
  } catch (err) {
    log.error({ session: sessionId, err }, "session reconcile failed");
  }
}

export interface SweepResult {
  deliveries: number;
  sessions: number;
  /** Work is still owed (the alarm comes back while it is). */
  owed: boolean;
}

/** Runs one step; a failure is logged and the sweep goes on (each step's work is in D1). */
async function step<T>(name: string, fn: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    log.error({ step: name, err }, "recovery sweep step failed");
    return fallback;
  }
}

export async function sweep(env: SweepEnv, now = Date.now()): Promise<SweepResult> {
  const db = database(env);
  const deliveries = await step("deliveries", () => requeueOverdueDeliveries(env, now), 0);
  const sessions = await step("sends", () => reconcileStaleSends(env, now), 0);
  // Unknown (D1 down) counts as owed: the alarm comes back.
  const owed = await step("owed", async () => (await hasOwedDeliveries(db)) || (await hasQueuedSends(db, toTimestamp(now))), true);
  return { deliveries, sessions, owed };
}
