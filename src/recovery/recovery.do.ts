import { DurableObject } from "cloudflare:workers";
import { log } from "../platform/log";
import { sweep, type SweepResult } from "./sweep";

// One object for the whole deployment (named RECOVERY_NAME): its alarm runs the recovery sweep
// while work is owed, then stops. Alarms survive restarts and run under `wrangler dev` exactly
// as on Cloudflare, which the cron does not. Armed by armRecovery() from the paths that create
// work (events, sends).

// How soon an armed alarm first runs, and how often it comes back while work is owed. The
// sweep itself only touches work overdue by a minute or more.
const SWEEP_EVERY_MS = 30_000;

export class RecoveryObject extends DurableObject<Env> {
  /**
   * Sets the alarm unless one is set already; returns when it runs (epoch ms). The alarm is
   * never moved earlier nor dropped before then, so callers may rely on a sweep at that time.
   */
  async arm(): Promise<number> {
    const set = await this.ctx.storage.getAlarm();
    if (set !== null) return set;
    const at = Date.now() + SWEEP_EVERY_MS;
    await this.ctx.storage.setAlarm(at);
    return at;
  }

  /** Runs the sweep now (tests, operators); the alarm goes on as before. */
  async sweepNow(): Promise<SweepResult> {
    return sweep(this.env);
  }

  async alarm(): Promise<void> {
    let owed = true;
    try {
      owed = (await sweep(this.env)).owed;
    } catch (err) {
      // D1 unavailable or similar: keep the alarm going, the work is still in D1.
      log.error({ err }, "recovery sweep failed");
    }
    if (owed) await this.ctx.storage.setAlarm(Date.now() + SWEEP_EVERY_MS);
  }
}
