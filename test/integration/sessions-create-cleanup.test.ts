import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SessionObject } from "../../src/session/session.do";
import type { SessionConfig } from "../../src/session/session.types";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { waitForSession } from "../helpers/sessions";

// POST /sessions inserts the row, then starts the session object. When the start throws, the
// creation is undone: no `pending` row left to count against the plan, no half-started object.

type Start = (this: SessionObject, config: SessionConfig) => Promise<void>;
const originalStart = SessionObject.prototype.start as Start;
// Account id → the session id the failing start was called for.
const startedObjects = new Map<string, string>();

/** Makes `start` throw for this account's sessions only (other test files share the isolate). */
function failStart(account: TestAccount, when: "before" | "after") {
  SessionObject.prototype.start = async function (this: SessionObject, config: SessionConfig) {
    if (config.accountId !== account.id) return originalStart.call(this, config);
    startedObjects.set(account.id, config.id);
    if (when === "after") await originalStart.call(this, config);
    throw new Error("injected start failure");
  };
}

type WaitForQr = (this: SessionObject, timeoutMs: number) => Promise<string | null>;
const originalWaitForQr = SessionObject.prototype.waitForQr as WaitForQr;

afterEach(() => {
  SessionObject.prototype.start = originalStart;
  SessionObject.prototype.waitForQr = originalWaitForQr;
  vi.restoreAllMocks();
});

async function rowsOf(accountId: string): Promise<{ id: string; status: string }[]> {
  const { results } = await env.DB.prepare("SELECT id, status FROM sessions WHERE account_id = ?").bind(accountId).all<{ id: string; status: string }>();
  return results;
}

describe("session creation when the object cannot start", () => {
  it("answers 503 and leaves no pending row behind", async () => {
    const account = await createAccount({ plan: "free" });
    failStart(account, "before");
    const res = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true } });
    expect(res.status, res.text).toBe(503);
    expect(res.json).toMatchObject({ success: false, error: { code: "session_start_failed" } });
    expect(await rowsOf(account.id)).toEqual([]);
    expect((await call("GET", "/v1/whatsapp/sessions", { key: account.key })).json.sessions).toEqual([]);
    expect((await call("GET", "/v1/account", { key: account.key })).json.account.usage.sessions).toBe(0);

    // Once the object starts again, creation works and counts one session.
    SessionObject.prototype.start = originalStart;
    const ok = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true } });
    expect(ok.status, ok.text).toBe(201);
    expect((await rowsOf(account.id)).map((r) => r.id)).toEqual([ok.json.session.id]);
    await waitForSession(account.key, ok.json.session.id, (s) => s.status === "pending");
  });

  it("a start that throws half-way also stops and wipes the object", async () => {
    const account = await createAccount();
    failStart(account, "after");
    const res = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true } });
    expect(res.status, res.text).toBe(503);
    expect(await rowsOf(account.id)).toEqual([]);

    // The object that did start was destroyed: no socket, nothing stored.
    const started = startedObjects.get(account.id);
    expect(started).toBeDefined();
    const stub = env.SESSION.get(env.SESSION.idFromName(started!));
    const inside = await runInDurableObject(stub, (instance: SessionObject, state: DurableObjectState) => {
      const sql = state.storage.sql;
      const hasMeta = sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'session_meta'").toArray().length > 0;
      return { socket: (instance as unknown as { conn: { current?: unknown } }).conn.current, meta: hasMeta ? sql.exec("SELECT key FROM session_meta").toArray().length : 0 };
    });
    expect(inside).toEqual({ socket: undefined, meta: 0 });
  });

  it("a failed wait for the first QR still creates the session, answers without a QR, and logs why", async () => {
    const account = await createAccount();
    SessionObject.prototype.waitForQr = async function (this: SessionObject, timeoutMs: number) {
      const config = (this as unknown as { config(): SessionConfig | null }).config();
      if (config?.accountId === account.id) throw new Error("injected QR wait failure");
      return originalWaitForQr.call(this, timeoutMs);
    };
    const warn = vi.spyOn(console, "warn");
    const res = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true } });
    expect(res.status, res.text).toBe(201);
    expect(res.json.qr_code).toBeNull();
    expect((await rowsOf(account.id)).map((r) => r.id)).toEqual([res.json.session.id]);
    const logged = warn.mock.calls.map((args) => String(args[0])).filter((line) => line.includes(res.json.session.id));
    expect(logged.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ msg: "waiting for the first QR failed; answering without one", err: expect.stringContaining("injected QR wait failure") }),
    );
  });
});
