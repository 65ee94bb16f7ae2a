import type { SessionConfig } from "./session.types";

// How a session holds its socket, in one place. `persistent`: always open; a watchdog alarm
// reopens a socket lost with nothing scheduled (a deploy, an eviction). `on_demand`: open for
// work, closed after `idleTimeoutMs` without any ("sleeping"), and woken every `wakeIntervalMs`
// to pull offline messages and receipts.

// Short: after a restart (deploy, eviction, `wrangler dev` reload) D1 still says `connected`
// and nothing else wakes the object, so this bounds how long a linked session is silently down.
// An alarm on an object that is in memory anyway costs next to nothing.
export const WATCHDOG_MS = 10_000;

interface HoldState {
  /** Whether the object should hold a socket at all (false after disconnect, logout, ban, ...). */
  running: boolean;
  /** on_demand: the socket is closed on purpose between bursts. */
  sleeping: boolean;
}

const onDemand = (config: SessionConfig) => config.connectionMode === "on_demand";

/** Whether the socket should be open now (on wake of the object, with no reconnect pending). */
export function wantsSocket(state: HoldState): boolean {
  return state.running && !state.sleeping;
}

/** Work arrived for a session that sleeps on purpose: it opens for the work. */
export function wakesForWork(state: HoldState): boolean {
  return state.running && state.sleeping;
}

/** The task armed when a socket logs in: the idle close (on_demand) or the watchdog (persistent). */
export function afterLogin(config: SessionConfig, now: number): { kind: "idle" | "wake"; at: number } {
  return onDemand(config) ? { kind: "idle", at: now + config.idleTimeoutMs } : { kind: "wake", at: now + WATCHDOG_MS };
}

/** When an open socket may close for idleness after work seen `now`; null: never (persistent). */
export function idleCloseAt(config: SessionConfig, now: number): number | null {
  return onDemand(config) ? now + config.idleTimeoutMs : null;
}

/** A due `idle` task: on_demand sleeps until the returned wake time; persistent does nothing. */
export function sleepUntil(config: SessionConfig, now: number): number | null {
  return onDemand(config) ? now + config.wakeIntervalMs : null;
}

/**
 * A due `wake` task: on_demand opens the socket (the `open` event arms the idle close);
 * persistent checks the socket (the watchdog) and comes back after WATCHDOG_MS.
 */
export function onWake(config: SessionConfig, now: number): { kind: "open" } | { kind: "watchdog"; nextAt: number } {
  return onDemand(config) ? { kind: "open" } : { kind: "watchdog", nextAt: now + WATCHDOG_MS };
}
