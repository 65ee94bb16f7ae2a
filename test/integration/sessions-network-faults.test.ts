import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { fault,
  linkedSession,
  logins,
  patchSessionState,
  sandboxEventsOf,
  sessionFacts,
  sessionObject,
  setDue,
  streamEvents,
  waitForSession, identity } from "../helpers/sessions";

// Every network fault the sandbox can inject: a linked session keeps its keys and is connected
// again within seconds, without a new QR; only an unlink or a ban ends the link.

/**
 * Links a session, applies `body`, and checks the session logged in again with the same keys,
 * the same number and no new QR; returns the status events published since the fault.
 */
async function expectSurvives(body: Record<string, unknown>, timeoutMs = 20_000) {
  const account = await createAccount();
  const { session, phone } = await linkedSession(account.key);
  const keys = await identity(session.id);
  expect(keys).not.toBeNull();
  const before = await streamEvents(account.key, session.id);
  const loginsBefore = await logins(account.id, session.id);
  const started = Date.now();

  await fault(account.key, session.id, body);
  // The positive signal: the sandbox saw this device log in again.
  await expect.poll(() => logins(account.id, session.id), { timeout: timeoutMs, interval: 200 }).toBeGreaterThan(loginsBefore);
  const back = await waitForSession(account.key, session.id, (s) => s.status === "connected");
  const elapsed = Date.now() - started;

  expect(back.phone_number).toBe(phone.phone_number);
  expect(await identity(session.id)).toBe(keys);
  const after = await streamEvents(account.key, session.id);
  expect(after.filter((e) => e.event === "qr").length).toBe(before.filter((e) => e.event === "qr").length);
  const statuses = after.slice(before.length).filter((e) => e.event === "status").map((e) => e.data);
  return { account, session, statuses, elapsed };
}

/**
 * Makes real D1 refuse (true) or accept again (false) every write of this session's row, as in an
 * outage of the database seen from the session object: a trigger aborts the UPDATE.
 */
async function d1Outage(sessionId: string, down: boolean) {
  const name = `outage_${sessionId.replace(/[^0-9a-f]/gi, "")}`;
  await env.DB.prepare(
    down
      ? `CREATE TRIGGER ${name} BEFORE UPDATE ON sessions WHEN OLD.id = '${sessionId}' BEGIN SELECT RAISE(ABORT, 'D1 outage'); END`
      : `DROP TRIGGER IF EXISTS ${name}`,
  ).run();
}

describe("a linked session survives network faults", () => {
  it("drop (close frame from the server): back within seconds, first retry after about a second", async () => {
    const { statuses, elapsed } = await expectSurvives({ kind: "drop" });
    expect(statuses.map((s) => s.status)).toEqual(["disconnected", "connected"]);
    expect(statuses[0].reason).toBe("connection_lost");
    expect(elapsed).toBeLessThan(10_000);
  });

  it("two drops in a row: back both times", async () => {
    const { account, session, elapsed } = await expectSurvives({ kind: "drop" });
    expect(elapsed).toBeLessThan(10_000);
    const loginsBefore = await logins(account.id, session.id);
    await fault(account.key, session.id, { kind: "drop" });
    await expect.poll(() => logins(account.id, session.id), { timeout: 10_000, interval: 200 }).toBeGreaterThan(loginsBefore);
    await waitForSession(account.key, session.id, (s) => s.status === "connected");
  });

  it("reset without a close frame (the server process dies)", async () => {
    const { statuses } = await expectSurvives({ kind: "reset" });
    expect(statuses.at(-1)?.status).toBe("connected");
    expect(statuses.some((s) => s.status === "disconnected" && s.reason === "connection_lost")).toBe(true);
  });

  it("silence (no pong): noticed by the keep-alive, then back", async () => {
    // Sandbox keep-alive: every 10 s, ends the socket after 15 s without a frame, so 15-20 s.
    const { statuses } = await expectSurvives({ kind: "silence" }, 40_000);
    expect(statuses.map((s) => s.status)).toEqual(["disconnected", "connected"]);
    expect(statuses[0].reason).toBe("timed_out");
  }, 60_000);

  it("connection refused at the upgrade, twice", async () => {
    const { account, session, statuses } = await expectSurvives({ kind: "refuse_upgrade", count: 2 });
    expect(statuses.map((s) => s.status)).toEqual(["disconnected", "connected"]);
    expect(statuses[0].reason).toBe("connection_lost");
    const refused = await sandboxEventsOf(account.id, session.id, "upgrade_refused");
    expect(refused.map((e) => e.detail.kind)).toEqual(["refuse", "refuse"]);
  });

  it.each([503, 401, 403])("HTTP %i answered to the upgrade (never read as logout or ban)", async (status) => {
    const { account, session, statuses } = await expectSurvives({ kind: "http_error", status, count: 2 });
    expect(statuses.every((s) => s.status === "disconnected" || s.status === "connected")).toBe(true);
    expect(statuses.at(-1)?.status).toBe("connected");
    const refused = await sandboxEventsOf(account.id, session.id, "upgrade_refused");
    expect(refused.map((e) => e.detail)).toEqual([
      { session: session.id, kind: "http_error", status },
      { session: session.id, kind: "http_error", status },
    ]);
  });

  it.each([
    ["500", "stream_error"],
    ["503", "service_unavailable"],
  ])("stream:error %s: reconnects with the keys kept", async (code, reason) => {
    const { statuses } = await expectSurvives({ kind: "stream_error", code });
    expect(statuses.map((s) => s.status)).toEqual(["disconnected", "connected"]);
    expect(statuses[0].reason).toBe(reason);
  });

  it("stream:error 515 on a linked session: restarts at once (no drop published, no backoff)", async () => {
    const { session, statuses, elapsed } = await expectSurvives({ kind: "stream_error", code: "515" });
    // At once: the restart never went through the backoff, so no `disconnected` was published.
    expect(statuses).toEqual([]);
    expect((await sessionFacts(session.id)).state).toMatchObject({ attempts: 0, status: "connected" });
    expect(elapsed).toBeLessThan(10_000);
  });
});

describe("logins that do not last", () => {
  it("a server that drops every login at once is backed off (1 s, 2 s, 4 s …), not retried every second", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const loginsBefore = await logins(account.id, session.id);
    // Drops the live socket, then each of the next two logins right after `success`.
    await fault(account.key, session.id, { kind: "stream_error", code: "503", count: 3 });
    await expect.poll(() => logins(account.id, session.id), { timeout: 20_000, interval: 200 }).toBe(loginsBefore + 3);
    await waitForSession(account.key, session.id, (s) => s.status === "connected");
    // The login in between never reset the ladder: three closes, three steps up.
    expect((await sessionFacts(session.id)).state.attempts).toBe(3);
    const at = (await sandboxEventsOf(account.id, session.id, "login")).map((e) => e.at).slice(-3);
    // The third retry waited at least half of 4 s (equal jitter), the second at least half of 2 s.
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(2_000);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(1_000);
  });

  it("a second 515 without a login in between goes through the backoff", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const loginsBefore = await logins(account.id, session.id);
    const before = await streamEvents(account.key, session.id);
    // 515 on the live socket (restart at once), then 515 right after the next login's `success`.
    await fault(account.key, session.id, { kind: "stream_error", code: "515", count: 2 });
    await expect.poll(() => logins(account.id, session.id), { timeout: 20_000, interval: 200 }).toBe(loginsBefore + 2);
    await waitForSession(account.key, session.id, (s) => s.status === "connected");
    const statuses = (await streamEvents(account.key, session.id)).slice(before.length).filter((e) => e.event === "status").map((e) => e.data);
    expect(statuses).toEqual([
      { status: "disconnected", reason: "restart_required" },
      { status: "connected", reason: null },
    ]);
    expect((await sessionFacts(session.id)).state.attempts).toBe(1);
  });
});

describe("a D1 outage while the socket drops", () => {
  it("persistent: the reconnect is scheduled even though the status cannot reach D1, and the session comes back", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const stub = sessionObject(session.id);
    // Past the fast ladder, so the retry is minutes away and the schedule can be read without a race.
    await patchSessionState(session.id, { attempts: 12 });
    await d1Outage(session.id, true);
    await fault(account.key, session.id, { kind: "drop" });
    await expect.poll(async () => (await sessionFacts(session.id)).state.status, { timeout: 10_000 }).toBe("disconnected");
    const { state, schedule } = await sessionFacts(session.id);
    expect(state).toMatchObject({ running: true, attempts: 13 });
    expect(schedule.reconnect - Date.now()).toBeGreaterThan(7 * 60_000);

    await d1Outage(session.id, false);
    await setDue(session.id, "reconnect");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await waitForSession(account.key, session.id, (s) => s.status === "connected");
  });

  it("on_demand: the idle close arms the wake first, so the session sleeps and wakes again", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key, { connection_mode: "on_demand", idle_timeout_seconds: 3600, wake_interval_seconds: 3600 });
    const stub = sessionObject(session.id);
    await d1Outage(session.id, true);
    await setDue(session.id, "idle");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const { state, schedule } = await sessionFacts(session.id);
    expect(state).toMatchObject({ running: true, sleeping: true });
    expect(schedule.wake).toBeGreaterThan(Date.now());
    expect((await stub.snapshot()).socketOpen).toBe(false);

    await d1Outage(session.id, false);
    const loginsBefore = await logins(account.id, session.id);
    await setDue(session.id, "wake");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await expect.poll(() => logins(account.id, session.id), { timeout: 10_000, interval: 200 }).toBeGreaterThan(loginsBefore);
  });
});

describe("a restarted session object", () => {
  it("logs in again from its watchdog, with nothing else waking it", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const keys = await identity(session.id);
    const loginsBefore = await logins(account.id, session.id);
    // The recorded alarm: the watchdog is at most 10 s away.
    const { schedule } = await sessionFacts(session.id);
    expect(schedule.wake - Date.now()).toBeLessThanOrEqual(10_000);
    // A deploy or an eviction: the object and its socket are gone, D1 still says connected.
    await runInDurableObject(sessionObject(session.id), (_, state) => state.abort("restart")).catch(() => {});
    // Only the sandbox is asked (a call to the session object would wake it by itself).
    await expect.poll(() => logins(account.id, session.id), { timeout: 30_000, interval: 250 }).toBeGreaterThan(loginsBefore);
    expect(await identity(session.id)).toBe(keys);
  }, 45_000);
});

describe("after the fast backoff is used up", () => {
  it("a linked session keeps retrying slowly (about every 15 min), says so, and comes back", async () => {
    const account = await createAccount();
    const { session, phone } = await linkedSession(account.key);
    const keys = await identity(session.id);
    const stub = sessionObject(session.id);
    // As if the 12 fast attempts had all failed.
    await patchSessionState(session.id, { attempts: 12 });
    await fault(account.key, session.id, { kind: "drop" });
    const slow = await waitForSession(account.key, session.id, (s) => s.status === "disconnected");
    expect(slow.reason).toBe("reconnect_failed_retrying");
    const { state, schedule } = await sessionFacts(session.id);
    expect(state.running).toBe(true);
    expect(schedule.reconnect - Date.now()).toBeGreaterThan(7 * 60_000);
    expect(schedule.reconnect - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    const events = await streamEvents(account.key, session.id);
    expect(events.filter((e) => e.event === "status").at(-1)?.data).toEqual({ status: "disconnected", reason: "reconnect_failed_retrying" });

    // The watchdog does not cut the slow wait short: run it now and see no new socket.
    const loginsBefore = await logins(account.id, session.id);
    await setDue(session.id, "wake");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.snapshot()).socketOpen).toBe(false);
    expect(await logins(account.id, session.id)).toBe(loginsBefore);

    // The slow retry comes due: the session logs in again with its keys.
    await setDue(session.id, "reconnect");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const back = await waitForSession(account.key, session.id, (s) => s.status === "connected");
    expect(back.phone_number).toBe(phone.phone_number);
    expect(await identity(session.id)).toBe(keys);
  });
});

describe("faults that end the link", () => {
  it("stream:error device_removed: disconnected/logged_out, keys wiped", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    await fault(account.key, session.id, { kind: "stream_error", code: "device_removed" });
    await waitForSession(account.key, session.id, (s) => s.status === "disconnected" && s.reason === "logged_out");
    await expect.poll(() => identity(session.id)).toBeNull();
  });

  it("ban: banned, keys wiped", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    await fault(account.key, session.id, { kind: "ban" });
    await waitForSession(account.key, session.id, (s) => s.status === "banned" && s.reason === "banned");
    await expect.poll(() => identity(session.id)).toBeNull();
  });

  it("refuses an unknown stream error code with 422", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const res = await call("POST", `/v1/sandbox/sessions/${session.id}/faults`, { key: account.key, body: { kind: "stream_error", code: "999" } });
    expect(res.status).toBe(422);
    expect(res.json.success).toBe(false);
  });
});

describe("a real WhatsApp session without network", () => {
  it("stays pending and retries with backoff, never failed/bad_session", async () => {
    const account = await createAccount();
    // No sandbox: the socket goes to WHATSAPP_WS_URL, a closed port in tests (vitest.config.ts).
    const res = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: false } });
    expect(res.status, res.text).toBe(201);
    const id = res.json.session.id;
    // The positive signal: failed attempts counted, and the next one scheduled (one poll, both facts).
    await expect
      .poll(
        async () => {
          const { state, schedule } = await sessionFacts(id);
          return state.attempts >= 1 && schedule.reconnect !== undefined && state.status === "pending" && state.running === true;
        },
        { timeout: 30_000, interval: 100 },
      )
      .toBe(true);
    const s = (await call("GET", `/v1/whatsapp/sessions/${id}`, { key: account.key })).json.session;
    expect(s).toMatchObject({ status: "pending", reason: null });
    await call("DELETE", `/v1/whatsapp/sessions/${id}`, { key: account.key });
  }, 45_000);
});
