import { recoveryStub } from "./bindings";
import { log } from "./log";
// Arms the recovery object's alarm from the paths that create work (events, sends). Cheap:
// the object answers with the time its alarm will run, and this isolate skips the call until
// shortly before then (never one call per message). The alarm sweeps at that time, so work
// written before it is seen; after it (the alarm may stop when nothing was owed) the next
// piece of work arms again. Locally (`wrangler dev`) exactly as on Cloudflare.

// Work must be committed this long before the alarm runs to be sure the alarm sees it (clock
// skew between this isolate and the object, an arm call still in flight).
const ARM_MARGIN_MS = 5_000;
// After a failed arm, emits skip the call this long rather than each paying a failing RPC.
const ARM_RETRY_MS = 5_000;

/** Skip the call while Date.now() is before this (epoch ms). */
let armedUntil = 0;
let inFlight: Promise<void> | undefined;

export type ArmEnv = Partial<Pick<Env, "RECOVERY">>;

export async function armRecovery(env: ArmEnv, at = Date.now()): Promise<void> {
  const recovery = env.RECOVERY;
  if (!recovery || at < armedUntil) return;
  // Concurrent emits of one isolate share one call.
  inFlight ??= (async () => {
    try {
      const alarmAt = await recoveryStub(recovery).arm();
      armedUntil = alarmAt - ARM_MARGIN_MS;
    } catch (err) {
      // Not fatal: the work is in D1 and the next arm (or the cron) finds it.
      armedUntil = Date.now() + ARM_RETRY_MS;
      log.warn({ err }, "could not arm the recovery alarm");
    } finally {
      inFlight = undefined;
    }
  })();
  await inFlight;
}

/** Forgets the cached alarm time: the next call asks the object again (tests reset its storage). */
export function forgetArmed(): void {
  armedUntil = 0;
}
