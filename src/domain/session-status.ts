// Public session status (seed 000) and what a Baileys disconnect means for it.
// Numbers are Baileys' DisconnectReason codes (rc14), kept literal so this stays pure.
export const SESSION_STATUSES = ["pending", "connected", "disconnected", "banned", "failed"] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const CONNECTION_MODES = ["persistent", "on_demand"] as const;
export type ConnectionMode = (typeof CONNECTION_MODES)[number];

export type DisconnectAction =
  /** 515 after pairing: reconnect at once with the saved creds. */
  | { kind: "restart" }
  /** Transient: reconnect from the alarm with backoff. */
  | { kind: "reconnect"; reason: string }
  /** Final until a user acts: status and reason to publish, and whether the link is gone. */
  | { kind: "stop"; status: SessionStatus; reason: string; unlinked: boolean };

export function classifyDisconnect(statusCode: number | undefined, wasLinked: boolean): DisconnectAction {
  switch (statusCode) {
    case 515:
      return { kind: "restart" };
    case 401:
      return { kind: "stop", status: "disconnected", reason: "logged_out", unlinked: true };
    case 403:
      return { kind: "stop", status: "banned", reason: "banned", unlinked: true };
    case 440:
      // Another client took over this device: fighting back would loop forever.
      return { kind: "stop", status: "disconnected", reason: "replaced", unlinked: false };
    case 411:
      return { kind: "stop", status: "failed", reason: "multidevice_mismatch", unlinked: true };
    case 500:
      return { kind: "stop", status: "failed", reason: "bad_session", unlinked: true };
    case 408:
      // Unlinked + timed out = the QR codes ran out without a scan.
      return wasLinked
        ? { kind: "reconnect", reason: "timed_out" }
        : { kind: "stop", status: "disconnected", reason: "qr_expired", unlinked: false };
    case 503:
      return { kind: "reconnect", reason: "service_unavailable" };
    default:
      return { kind: "reconnect", reason: "connection_lost" };
  }
}

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 5 * 60_000, maxAttempts: 12 };

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential with "equal jitter", so
 * many sessions dropped together do not come back in lockstep, and never below half the step.
 * Returns null once the attempts are used up (the session becomes `failed`).
 */
export function reconnectDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random = Math.random): number | null {
  if (attempt >= policy.maxAttempts) return null;
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  return Math.round(step / 2 + random() * (step / 2));
}
