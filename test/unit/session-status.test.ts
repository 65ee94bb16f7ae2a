import { describe, expect, it } from "vitest";
import { attemptsAfterClose, backoffExhausted, reconnectDelay, STABLE_CONNECTION_MS } from "../../src/domain/backoff";
import { classifyDisconnect } from "../../src/domain/session-status";

describe("classifyDisconnect", () => {
  it("restarts at once after the 515 that follows pairing", () => {
    expect(classifyDisconnect(515, false)).toEqual({ kind: "restart" });
  });

  it("maps logout, ban and replacement to final states", () => {
    expect(classifyDisconnect(401, true)).toEqual({ kind: "stop", status: "disconnected", reason: "logged_out", unlinked: true });
    expect(classifyDisconnect(403, true)).toEqual({ kind: "stop", status: "banned", reason: "banned", unlinked: true });
    expect(classifyDisconnect(440, true)).toEqual({ kind: "stop", status: "disconnected", reason: "replaced", unlinked: false });
  });

  it("reconnects after a lost connection", () => {
    expect(classifyDisconnect(428, true)).toEqual({ kind: "reconnect", reason: "connection_lost" });
    expect(classifyDisconnect(undefined, true)).toEqual({ kind: "reconnect", reason: "connection_lost" });
    expect(classifyDisconnect(408, true)).toEqual({ kind: "reconnect", reason: "timed_out" });
    expect(classifyDisconnect(503, true)).toEqual({ kind: "reconnect", reason: "service_unavailable" });
  });

  it("keeps the keys on a 500 stream error (badSession) and retries", () => {
    expect(classifyDisconnect(500, true)).toEqual({ kind: "reconnect", reason: "stream_error" });
  });

  it("never stops or unlinks on a failure of the WebSocket itself, whatever code Baileys guessed", () => {
    // 500: an error without a Node code; 408: ECONNRESET/ENOTFOUND/...; 401/403: an HTTP answer to the upgrade.
    for (const code of [500, 408, 401, 403, 440, 411, 515, 503, undefined]) {
      for (const linked of [true, false]) {
        expect(classifyDisconnect(code, linked, "transport").kind).toBe("reconnect");
      }
    }
    expect(classifyDisconnect(408, true, "transport")).toEqual({ kind: "reconnect", reason: "connection_lost" });
    expect(classifyDisconnect(500, true, "transport")).toEqual({ kind: "reconnect", reason: "connection_lost" });
  });

  it("wipes keys only for a logout or a ban", () => {
    const codes = [undefined, 400, 401, 402, 403, 405, 406, 408, 409, 411, 428, 440, 500, 501, 503, 515];
    const unlinking = codes.filter((code) => {
      const action = classifyDisconnect(code, true);
      return action.kind === "stop" && action.unlinked;
    });
    expect(unlinking).toEqual([401, 403, 406]);
  });

  it("login failure 406 (whatsmeow UnknownLogout, WA Web BANNED): banned, keys wiped", () => {
    expect(classifyDisconnect(406, true, "server", { kind: "failure" })).toEqual({ kind: "stop", status: "banned", reason: "banned", unlinked: true });
  });

  it("login failure 405: failed/client_outdated at once, keys kept (no ladder of retries)", () => {
    expect(classifyDisconnect(405, true, "server", { kind: "failure" })).toEqual({
      kind: "stop",
      status: "failed",
      reason: "client_outdated",
      unlinked: false,
    });
  });

  it("login failure 402 (temporary ban): banned/temporarily_banned, keys kept, one retry when the ban's expiry passes", () => {
    // Issue 15: a temporary ban shows as `banned` with its expiry; logins in between would only be refused.
    expect(classifyDisconnect(402, true, "server", { kind: "failure", expire: 3600 })).toEqual({
      kind: "stop",
      status: "banned",
      reason: "temporarily_banned",
      unlinked: false,
      retryAfterMs: 3_600_000,
    });
    // No expiry given: banned until someone reconnects the session.
    expect(classifyDisconnect(402, true, "server", { kind: "failure" })).toEqual({ kind: "stop", status: "banned", reason: "temporarily_banned", unlinked: false });
  });

  it("login failures 409, 500 and 503 keep the keys and reconnect with backoff", () => {
    const failure = { kind: "failure" as const };
    expect(classifyDisconnect(409, true, "server", failure)).toEqual({ kind: "reconnect", reason: "login_refused" });
    expect(classifyDisconnect(500, true, "server", failure)).toEqual({ kind: "reconnect", reason: "server_error" });
    expect(classifyDisconnect(503, true, "server", failure)).toEqual({ kind: "reconnect", reason: "service_unavailable" });
  });

  it("401 unlinks as a login failure or a device_removed stream error, not as a bare stream error", () => {
    const loggedOut = { kind: "stop", status: "disconnected", reason: "logged_out", unlinked: true };
    expect(classifyDisconnect(401, true, "server", { kind: "failure" })).toEqual(loggedOut);
    expect(classifyDisconnect(401, true, "server", { kind: "stream", conflict: "device_removed" })).toEqual(loggedOut);
    expect(classifyDisconnect(401, true, "server", { kind: "stream" })).toEqual({ kind: "reconnect", reason: "stream_error" });
    expect(classifyDisconnect(401, true, "server", { kind: "stream", conflict: "replaced" })).toEqual({ kind: "reconnect", reason: "stream_error" });
    // Baileys' own logout (no server word) still unlinks.
    expect(classifyDisconnect(401, true)).toEqual(loggedOut);
  });

  it("treats a timeout before linking as expired QR codes", () => {
    expect(classifyDisconnect(408, false)).toMatchObject({ kind: "stop", reason: "qr_expired" });
  });
});

describe("reconnectDelay", () => {
  const policy = { baseMs: 1000, maxMs: 60_000, maxAttempts: 5, slowMs: 900_000 };

  it("starts at about one second and grows exponentially within jitter bounds", () => {
    expect(reconnectDelay(0, policy, () => 0)).toBe(500);
    expect(reconnectDelay(0, policy, () => 1)).toBe(1000);
    expect(reconnectDelay(3, policy, () => 0)).toBe(4000);
    expect(reconnectDelay(3, policy, () => 1)).toBe(8000);
  });

  it("caps the step", () => {
    expect(reconnectDelay(4, { ...policy, maxMs: 10_000 }, () => 1)).toBe(10_000);
  });

  it("keeps retrying slowly, with jitter, once the ladder is used up", () => {
    expect(backoffExhausted(4, policy)).toBe(false);
    expect(backoffExhausted(5, policy)).toBe(true);
    for (const attempt of [5, 6, 50, 10_000]) {
      expect(reconnectDelay(attempt, policy, () => 0)).toBe(450_000);
      expect(reconnectDelay(attempt, policy, () => 1)).toBe(900_000);
    }
  });
});

describe("attemptsAfterClose", () => {
  it("keeps counting when the login did not last (a server that drops every login)", () => {
    expect(attemptsAfterClose(3, 1_000, 1_000 + 200)).toBe(3);
    expect(attemptsAfterClose(3, 1_000, 1_000 + STABLE_CONNECTION_MS - 1)).toBe(3);
  });

  it("starts the ladder afresh after a login that lasted a minute", () => {
    expect(attemptsAfterClose(7, 1_000, 1_000 + STABLE_CONNECTION_MS)).toBe(0);
  });

  it("keeps counting when no login happened since the last close", () => {
    expect(attemptsAfterClose(4, null, 10 * STABLE_CONNECTION_MS)).toBe(4);
  });
});
