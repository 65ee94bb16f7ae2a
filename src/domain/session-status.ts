// Public session status and what a Baileys disconnect means for it.
// Numbers are Baileys' DisconnectReason codes (rc14), kept literal so this stays pure.
export const SESSION_STATUSES = ["pending", "connected", "disconnected", "banned", "failed"] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const CONNECTION_MODES = ["persistent", "on_demand"] as const;
export type ConnectionMode = (typeof CONNECTION_MODES)[number];

export type DisconnectAction =
  /** 515 after pairing: reconnect at once with the saved creds. */
  | { kind: "restart" }
  /** Transient: reconnect from the alarm with backoff, keys kept. */
  | { kind: "reconnect"; reason: string }
  /**
   * Final until a user acts: status and reason to publish, and whether the link is gone.
   * `retryAfterMs`: final only for that long (a temporary ban's expiry); then one login is tried.
   */
  | { kind: "stop"; status: SessionStatus; reason: string; unlinked: boolean; retryAfterMs?: number };

/**
 * Where a close came from. `transport`: the WebSocket itself failed (DNS, refused, reset, TLS,
 * an HTTP answer to the upgrade, a close in the middle of the handshake). Baileys turns those
 * into codes too (408, 500, or the HTTP status), but no WhatsApp server said anything: a
 * transport failure never means logged out, banned or bad keys.
 */
export type DisconnectSource = "server" | "transport";

/**
 * What the server said, when it said something: `failure` is the answer to a login
 * (`<failure reason>`), `stream` a `<stream:error>`; `conflict` is the type of its `conflict`
 * child (device_removed, replaced). Absent for closes Baileys decided on its own.
 */
export interface ServerWord {
  kind: "failure" | "stream";
  conflict?: string;
  /** failure 402: seconds until the temporary ban ends (`expire`), when the server said. */
  expire?: number;
}

/**
 * What a Baileys close means. Only WhatsApp's own word unlinks, as whatsmeow reads it
 * (connectionevents.go handleStreamError / handleConnectFailure, IsLoggedOut): a login failure
 * 401, 403 or 406, or a stream error 401 with `<conflict type="device_removed"/>`. Everything
 * else keeps the keys. A 500 (badSession: a stream error Baileys does not know) and a bare
 * stream error 401 are retried: whatsmeow reconnects on both, and keys that are really unusable
 * are answered at the next login with a 401 failure, which then unlinks.
 */
export function classifyDisconnect(
  statusCode: number | undefined,
  wasLinked: boolean,
  source: DisconnectSource = "server",
  word?: ServerWord,
): DisconnectAction {
  // Baileys folds every Node E-code (refused, reset, DNS, timeout) into 408: no finer reason to give.
  if (source === "transport") return { kind: "reconnect", reason: "connection_lost" };
  switch (statusCode) {
    case 515:
      return { kind: "restart" };
    case 401:
      // Baileys reads any stream error 401 as logged out; whatsmeow only the device_removed one.
      if (word?.kind === "stream" && word.conflict !== "device_removed") return { kind: "reconnect", reason: "stream_error" };
      return { kind: "stop", status: "disconnected", reason: "logged_out", unlinked: true };
    case 403:
      return { kind: "stop", status: "banned", reason: "banned", unlinked: true };
    case 406:
      // Login failure 406: whatsmeow's UnknownLogout, which WhatsApp Web calls BANNED; store deleted.
      return { kind: "stop", status: "banned", reason: "banned", unlinked: true };
    case 405:
      // Login failure 405 (client outdated): every retry gets the same answer until the gateway is updated.
      return { kind: "stop", status: "failed", reason: "client_outdated", unlinked: false };
    case 402:
      // Login failure 402 (whatsmeow TemporaryBan, with `expire` seconds): banned, keys kept; no
      // login until the ban lifts (each one would be refused and only prolong the trouble).
      return {
        kind: "stop",
        status: "banned",
        reason: "temporarily_banned",
        unlinked: false,
        ...(word?.expire && word.expire > 0 ? { retryAfterMs: word.expire * 1000 } : {}),
      };
    case 409:
      // Login failure 409 (whatsmeow BadUserAgent): the link is intact; retried with backoff.
      return { kind: "reconnect", reason: word?.kind === "failure" ? "login_refused" : "connection_lost" };
    case 440:
      // Another client took over this device: fighting back would loop forever.
      return { kind: "stop", status: "disconnected", reason: "replaced", unlinked: false };
    case 411:
      // Only seen while pairing (the phone lacks multi-device); `reconnect` starts a new QR.
      return { kind: "stop", status: "failed", reason: "multidevice_mismatch", unlinked: false };
    case 500:
      // A login failure 500 is the server's own trouble (whatsmeow reconnects on it).
      return { kind: "reconnect", reason: word?.kind === "failure" ? "server_error" : "stream_error" };
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

/** Reason shown while a linked session retries slowly after the fast ladder is used up. */
export const SLOW_RETRY_REASON = "reconnect_failed_retrying";
