import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { fault, linkedSession, logins, sandboxEventsOf, sessionFacts, sessionObject, setDue, streamEvents, waitForSession, identity } from "../helpers/sessions";

// What a real server answers a login with (`<failure reason=…>`, whatsmeow handleConnectFailure;
// Baileys CB:failure → Boom statusCode = reason), and what the session makes of each; and a
// server that answers every login with stream:error 515.

/** Logins the sandbox refused for this session because of a fault, oldest first. */
async function refusals(accountId: string, sessionId: string) {
  return (await sandboxEventsOf(accountId, sessionId, "login_refused")).filter((e) => e.detail.reason === "fault");
}

/** A linked session whose next login the sandbox answers with `<failure reason=code>`. */
async function refusedLogin(code: number, extra: Record<string, unknown> = {}) {
  const account = await createAccount();
  const { session, phone } = await linkedSession(account.key);
  const keys = await identity(session.id);
  const before = await streamEvents(account.key, session.id);
  await fault(account.key, session.id, { kind: "login_failure", code: String(code), ...extra });
  // The positive signal: the sandbox refused a login of this session with that code.
  await expect.poll(async () => (await refusals(account.id, session.id)).map((e) => e.detail.code), { timeout: 20_000, interval: 100 }).toContain(code);
  return { account, session, phone, keys, before };
}

describe("login refusals", () => {
  it("405 (client outdated): failed/client_outdated at once, an event, no retries, keys kept", async () => {
    const { account, session, keys, before } = await refusedLogin(405);
    const s = await waitForSession(account.key, session.id, (x) => x.status === "failed");
    expect(s.reason).toBe("client_outdated");
    const events = (await streamEvents(account.key, session.id)).slice(before.length);
    expect(events.filter((e) => e.event === "error").map((e) => e.data)).toContainEqual(expect.objectContaining({ code: "client_outdated", status_code: 405 }));
    expect(events.filter((e) => e.event === "status").at(-1)?.data).toEqual({ status: "failed", reason: "client_outdated" });
    // Recorded facts: stopped, nothing scheduled, one refusal only, keys intact.
    const { state, schedule } = await sessionFacts(session.id);
    expect(state.running).toBe(false);
    expect(schedule.reconnect).toBeUndefined();
    expect(await refusals(account.id, session.id)).toHaveLength(1);
    expect(await identity(session.id)).toBe(keys);
  });

  it("402 (temporary ban): banned/temporarily_banned with banned_until, keys kept, one login once the ban ends", async () => {
    const { account, session, phone, keys } = await refusedLogin(402, { expire: 7200 });
    const s = await waitForSession(account.key, session.id, (x) => x.status === "banned");
    expect(s.reason).toBe("temporarily_banned");
    const until = Date.parse(s.banned_until);
    expect(until - Date.now()).toBeGreaterThan(7000 * 1000);
    expect(until - Date.now()).toBeLessThanOrEqual(7200 * 1000);
    const { state, schedule } = await sessionFacts(session.id);
    // No login until the ban ends: the only reconnect is due at its end.
    expect(Math.abs(schedule.reconnect - until)).toBeLessThan(1000);
    expect(state.running).toBe(true);
    expect(await identity(session.id)).toBe(keys);

    // The ban's end comes due: the session logs in again with its keys; banned_until clears.
    const loginsBefore = await logins(account.id, session.id);
    await setDue(session.id, "reconnect");
    expect(await runDurableObjectAlarm(sessionObject(session.id))).toBe(true);
    await expect.poll(() => logins(account.id, session.id), { timeout: 20_000, interval: 200 }).toBeGreaterThan(loginsBefore);
    const back = await waitForSession(account.key, session.id, (x) => x.status === "connected");
    expect(back).toMatchObject({ phone_number: phone.phone_number, banned_until: null, reason: null });
  });

  it("402: the status event carries banned_until; a disconnect drops the retry and clears it", async () => {
    const { account, session, before } = await refusedLogin(402, { expire: 7200 });
    const s = await waitForSession(account.key, session.id, (x) => x.status === "banned");
    const events = (await streamEvents(account.key, session.id)).slice(before.length);
    expect(events.filter((e) => e.event === "status").at(-1)?.data).toEqual({ status: "banned", reason: "temporarily_banned", banned_until: s.banned_until });

    const res = await call("PATCH", `/v1/whatsapp/sessions/${session.id}/disconnect`, { key: account.key });
    expect(res.status, res.text).toBe(200);
    const after = (await call("GET", `/v1/whatsapp/sessions/${session.id}`, { key: account.key })).json.session;
    // Still banned (WhatsApp said so), but no login is promised at the ban's end any more.
    expect(after).toMatchObject({ status: "banned", banned_until: null });
    expect((await sessionFacts(session.id)).schedule.reconnect).toBeUndefined();
  });

  it("406 (banned): banned, keys wiped", async () => {
    const { account, session } = await refusedLogin(406);
    const s = await waitForSession(account.key, session.id, (x) => x.status === "banned");
    expect(s).toMatchObject({ reason: "banned", banned_until: null });
    expect(await identity(session.id)).toBeNull();
    expect((await sessionFacts(session.id)).state.running).toBe(false);
  });

  it.each([
    [409, "login_refused"],
    [500, "server_error"],
    [503, "service_unavailable"],
  ])("%s at login: reconnects with backoff, keys kept", async (code, reason) => {
    const { account, session, phone, keys, before } = await refusedLogin(code);
    const back = await waitForSession(account.key, session.id, (x) => x.status === "connected");
    expect(back.phone_number).toBe(phone.phone_number);
    expect(await identity(session.id)).toBe(keys);
    const statuses = (await streamEvents(account.key, session.id))
      .slice(before.length)
      .filter((e) => e.event === "status")
      .map((e) => e.data);
    // The drop that led to the login, then the refusal's own reason, then back.
    expect(statuses.at(-2)).toEqual({ status: "disconnected", reason });
    expect(statuses.at(-1)).toEqual({ status: "connected", reason: null });
    // Backed off: the refused login counted as an attempt, and the next waited for it.
    const refused = (await refusals(account.id, session.id)).at(-1)!.at;
    const next = (await sandboxEventsOf(account.id, session.id, "login")).at(-1)!.at;
    expect(next - refused).toBeGreaterThanOrEqual(1_000);
  });

  it("refuses a login_failure code real servers do not send at login (422)", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const res = await call("POST", `/v1/sandbox/sessions/${session.id}/faults`, { key: account.key, body: { kind: "login_failure", code: "418" } });
    expect(res.status).toBe(422);
  });
});

describe("a server that answers every login with 515 (restart_loop)", () => {
  it("backs off after the first restart: fewer than 10 connection attempts in the first minute", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const keys = await identity(session.id);
    const stub = sessionObject(session.id);
    const attempts = async () => (await refusals(account.id, session.id)).length;
    await fault(account.key, session.id, { kind: "restart_loop" });

    // The schedule is driven instead of waited for: each reconnect runs as soon as it is
    // scheduled, and its delay is added to a simulated clock (now minus due: never more than
    // the real delay, so the count below can only be too high).
    let simulated = 0;
    let seen = 0;
    for (;;) {
      await expect.poll(attempts, { timeout: 20_000, interval: 50 }).toBeGreaterThan(seen);
      seen = await attempts();
      let due: number | undefined;
      await expect.poll(async () => (due = (await sessionFacts(session.id)).schedule.reconnect), { timeout: 20_000, interval: 50 }).toBeDefined();
      simulated += Math.max(0, due! - Date.now());
      if (simulated >= 60_000) break;
      await setDue(session.id, "reconnect");
      await runDurableObjectAlarm(stub);
    }
    // seen: the attempts made before the next one would be due past the first minute.
    expect(seen).toBeLessThan(10);
    expect(seen).toBeGreaterThanOrEqual(3);
    const s = await waitForSession(account.key, session.id, (x) => x.status === "disconnected");
    expect(s.reason).toBe("restart_required");
    expect(await identity(session.id)).toBe(keys);
  });
});
