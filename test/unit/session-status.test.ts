import { describe, expect, it } from "vitest";
import { classifyDisconnect, reconnectDelay } from "../../src/domain/session-status";

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
  });

  it("treats a timeout before linking as expired QR codes", () => {
    expect(classifyDisconnect(408, false)).toMatchObject({ kind: "stop", reason: "qr_expired" });
  });
});

describe("reconnectDelay", () => {
  const policy = { baseMs: 1000, maxMs: 60_000, maxAttempts: 5 };

  it("grows exponentially within jitter bounds", () => {
    expect(reconnectDelay(0, policy, () => 0)).toBe(500);
    expect(reconnectDelay(0, policy, () => 1)).toBe(1000);
    expect(reconnectDelay(3, policy, () => 0)).toBe(4000);
    expect(reconnectDelay(3, policy, () => 1)).toBe(8000);
  });

  it("caps the step and gives up after the last attempt", () => {
    expect(reconnectDelay(4, { ...policy, maxMs: 10_000 }, () => 1)).toBe(10_000);
    expect(reconnectDelay(5, policy)).toBeNull();
  });
});
