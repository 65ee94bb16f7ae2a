import { type BinaryNode, node } from "./stanzas";

// Faults the driver API can inject into a session's connection (POST /v1/sandbox/sessions/{id}/faults).
// What real servers send, with sources: docs/protocol/faults.md. The list: src/domain/sandbox-faults.ts.
export { FAULT_KINDS, type FaultKind } from "../domain/sandbox-faults";

/** `code` of a login_failure fault: the `<failure reason>` codes a real server answers a login with. */
export const LOGIN_FAILURE_CODES = [402, 405, 406, 409, 500, 503] as const;
export type LoginFailureCode = (typeof LOGIN_FAILURE_CODES)[number];

/** What the next logins of a session meet instead of `<success>`. */
export type LoginRefusal = { kind: "failure"; code: LoginFailureCode; expire: number; remaining: number } | { kind: "restart_loop"; remaining: number };

/** `code` of a stream_error fault: the stream errors real servers send. */
export const STREAM_ERROR_CODES = ["500", "503", "515", "replaced", "device_removed"] as const;
export type StreamErrorCode = (typeof STREAM_ERROR_CODES)[number];

/** stream_error with `count` > 1: the same stream error right after each of the next logins. */
export type LoginFault = { code: StreamErrorCode; remaining: number };

/** A fault on the next upgrades of a session: refused like a closed port, or answered with an HTTP error. */
export type UpgradeFault = { kind: "refuse"; remaining: number } | { kind: "http_error"; status: number; remaining: number };

// What the real server sends, and what Baileys maps it to (Utils/generics.js getErrorCodeFromStreamError,
// Socket/socket.js CB:failure):
/** Linked device removed from the phone: stream error 401 → DisconnectReason.loggedOut. */
export const deviceRemoved = (): BinaryNode => node("stream:error", { code: "401" }, [node("conflict", { type: "device_removed" })]);
/** Another socket logged in as the same device: `conflict` → 440 connectionReplaced. */
export const replaced = (): BinaryNode => node("stream:error", {}, [node("conflict", { type: "replaced" })]);
/** Account banned: failure 403 → DisconnectReason.forbidden (also the answer to every later login). */
export const banned = (): BinaryNode => node("failure", { reason: "403", location: "sandbox" });
/** A login for a device the server no longer knows: failure 401 → loggedOut. */
export const unknownDevice = (): BinaryNode => node("failure", { reason: "401", location: "sandbox" });
/** After pairing: 515 → restartRequired; the client reconnects with its new credentials. */
export const restartRequired = (): BinaryNode => node("stream:error", { code: "515" });
/** Server going away / overloaded: code 503 → unavailableService; whatsmeow just reconnects. */
export const serviceUnavailable = (): BinaryNode => node("stream:error", { code: "503" });
/** The server rejected something the client sent: no code, an unknown child → Baileys badSession (500). */
export const notWellFormed = (): BinaryNode => node("stream:error", {}, [node("xml-not-well-formed")]);

/**
 * A login refused (whatsmeow handleConnectFailure; Baileys CB:failure → statusCode = reason):
 * 402 temporary ban with `code` (TempBanReason, 101 = too many messages to non-contacts) and
 * `expire` (seconds), 405 client outdated, 406 banned (whatsmeow UnknownLogout), 409 bad user
 * agent, 500/503 the server's trouble.
 */
export function loginFailure(code: LoginFailureCode, expire: number): BinaryNode {
  const attrs: Record<string, string> = { reason: String(code), location: "sandbox" };
  if (code === 402) Object.assign(attrs, { code: "101", expire: String(expire) });
  return node("failure", attrs);
}

/**
 * The client left a stanza the server sent unacknowledged: the stream ends naming it, `<ack id
 * [class]>` as the child (live: mgp25/Chat-API #1262, Baileys #1910) → Baileys badSession (500).
 */
export const ackStreamError = (id: string, cls?: string): BinaryNode => node("stream:error", {}, [node("ack", cls ? { id, class: cls } : { id })]);
/** The server ends the XML stream (token `xmlstreamend`) → Baileys "Connection Terminated by Server", 428. */
export const streamEnd = (): BinaryNode => node("xmlstreamend", {});

export function streamError(code: StreamErrorCode): BinaryNode {
  switch (code) {
    case "500":
      return notWellFormed();
    case "503":
      return serviceUnavailable();
    case "515":
      return restartRequired();
    case "replaced":
      return replaced();
    case "device_removed":
      return deviceRemoved();
  }
}
