import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SessionObject } from "../../src/session/session.do";
import type { SessionConfig } from "../../src/session/session.types";
import { call, createAccount } from "../helpers/api";

// An error's internal cause (an exception, an object's failure) is for the operator: it is
// logged with the request's method, path and code, and never part of the response.

type Start = (this: SessionObject, config: SessionConfig) => Promise<void>;
const originalStart = SessionObject.prototype.start as Start;
const originalGetBot = SessionObject.prototype.getBot;

afterEach(() => {
  SessionObject.prototype.start = originalStart;
  SessionObject.prototype.getBot = originalGetBot;
  vi.restoreAllMocks();
});

/** The JSON lines written to console.error that mention `marker`, parsed. */
function loggedWith(spy: { mock: { calls: unknown[][] } }, marker: string): Record<string, unknown>[] {
  return spy.mock.calls.map((args) => String(args[0])).filter((line) => line.includes(marker)).map((line) => JSON.parse(line));
}

describe("internal causes of errors", () => {
  it("a 503 whose cause is an exception logs the cause and answers without it", async () => {
    const account = await createAccount();
    const marker = `start-secret-${crypto.randomUUID()}`;
    SessionObject.prototype.start = async function (this: SessionObject, config: SessionConfig) {
      if (config.accountId !== account.id) return originalStart.call(this, config);
      throw new Error(marker);
    };
    const logged = vi.spyOn(console, "error");
    const res = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true } });

    expect(res.status, res.text).toBe(503);
    expect(res.json).toEqual({
      success: false,
      error: { code: "session_start_failed", message: "The session could not be started; nothing was created. Retry the request.", details: [] },
    });
    expect(res.text).not.toContain(marker);
    expect(loggedWith(logged, marker)).toContainEqual(
      expect.objectContaining({ method: "POST", path: "/v1/whatsapp/sessions", status: 503, code: "session_start_failed" }),
    );
  });

  it("an unexpected exception is a generic 500; the exception is logged with the request", async () => {
    const account = await createAccount();
    const sessionUuid = crypto.randomUUID();
    const at = new Date().toISOString().replace("Z", "000Z");
    await env.DB.prepare(
      `INSERT INTO sessions (id, account_id, session_id, status, sandbox, connection_mode, settings, last_seen_at, created_at, updated_at)
       VALUES (?1, ?2, ?3, 'disconnected', 1, 'persistent', '{}', ?4, ?4, ?4)`,
    )
      .bind(sessionUuid, account.id, `session_${sessionUuid}`, at)
      .run();
    const marker = `bot-secret-${crypto.randomUUID()}`;
    SessionObject.prototype.getBot = function (this: SessionObject) {
      if ((this as unknown as { ctx: DurableObjectState }).ctx.id.name === sessionUuid) throw new Error(marker);
      return originalGetBot.call(this);
    };
    const logged = vi.spyOn(console, "error");
    const res = await call("GET", `/v1/whatsapp/sessions/${sessionUuid}/bot`, { key: account.key });

    expect(res.status, res.text).toBe(500);
    expect(res.json).toEqual({ success: false, error: { code: "internal_error", message: "An internal error occurred.", details: [] } });
    expect(res.text).not.toContain(marker);
    expect(loggedWith(logged, marker)).toContainEqual(
      expect.objectContaining({ method: "GET", path: `/v1/whatsapp/sessions/${sessionUuid}/bot`, msg: "unhandled error" }),
    );
  });
});
