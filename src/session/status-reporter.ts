import { database } from "../db/client";
import { updateSessionState, type SessionStatePatch } from "../db/sessions.repo";
import { now } from "../domain/time";
import { emitEvent } from "../events/emit";
import { log } from "../platform/log";
import type { EventStream } from "./event-stream";
import type { SessionMeta, SessionState } from "./session-state";

// A change of the session's state: object SQLite first, then D1 (the truth the API reads), then
// the SSE stream and the session webhooks when the status or reason changed.

export class StatusReporter {
  constructor(
    private readonly env: Env,
    private readonly meta: SessionMeta,
    private readonly stream: EventStream,
  ) {}

  /** Applies a change; a change of status or reason is written to D1 and announced. */
  async set(patch: Partial<SessionState>): Promise<void> {
    const before = this.meta.state();
    const after = { ...before, ...patch };
    // A ban's expiry means nothing once the session is no longer banned.
    if (after.status !== "banned") after.bannedUntil = null;
    this.meta.writeState(after);
    await this.publish(before, after);
  }

  /** Writes a local change to D1 and announces a change of status or reason. */
  async publish(before: SessionState, after: SessionState): Promise<void> {
    const config = this.meta.config();
    if (!config) return;
    const d1: SessionStatePatch = { lastSeenAt: now() };
    const statusChanged = after.status !== before.status || after.reason !== before.reason || after.bannedUntil !== before.bannedUntil;
    if (statusChanged) Object.assign(d1, { status: after.status, reason: after.reason });
    if (after.bannedUntil !== before.bannedUntil) d1.bannedUntil = after.bannedUntil;
    if (after.phoneNumber !== before.phoneNumber) d1.phoneNumber = after.phoneNumber;
    if (after.displayName !== before.displayName) d1.displayName = after.displayName;
    await updateSessionState(database(this.env), config.id, d1);
    if (statusChanged) {
      // Additive: only a temporary ban with a known end carries `banned_until`.
      const ban = after.bannedUntil ? { banned_until: after.bannedUntil } : {};
      this.stream.publish("status", { status: after.status, reason: after.reason, ...ban });
      await this.emit("session.status", { status: after.status, reason: after.reason, phone_number: after.phoneNumber, ...ban });
    }
  }

  /** Webhook events never break the session: a failure is logged and the session goes on. */
  async emit(type: "session.status" | "session.qr", data: Record<string, unknown>): Promise<void> {
    const config = this.meta.config();
    if (!config) return;
    try {
      await emitEvent(this.env, { accountId: config.accountId, sessionId: config.id, type, data });
    } catch (err) {
      log.error({ session: config.id, type, err }, "could not emit session event");
    }
  }
}
