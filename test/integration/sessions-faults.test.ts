import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { fault as applyFault, linkedSession, logins, sessionFacts, sessionObject, streamEvents, waitForSession } from "../helpers/sessions";

const fault = (key: string, sessionId: string, kind: string) => applyFault(key, sessionId, { kind });

describe("session faults", () => {
  it("comes back connected after a dropped socket, without a new QR", async () => {
    const account = await createAccount();
    const { session, phone } = await linkedSession(account.key);
    const before = await streamEvents(account.key, session.id);
    const qrsBefore = before.filter((e) => e.event === "qr").length;
    const loginsBefore = await logins(account.id, session.id);

    await fault(account.key, session.id, "drop");
    // The drop lasts about a second: read it from the status history, not from polls.
    await expect.poll(() => logins(account.id, session.id), { timeout: 20_000, interval: 200 }).toBeGreaterThan(loginsBefore);
    const back = await waitForSession(account.key, session.id, (s) => s.status === "connected");
    expect(back.phone_number).toBe(phone.phone_number);

    const after = await streamEvents(account.key, session.id);
    expect(after.filter((e) => e.event === "qr").length).toBe(qrsBefore);
    const statuses = after.slice(before.length).filter((e) => e.event === "status").map((e) => e.data);
    expect(statuses).toEqual([
      { status: "disconnected", reason: "connection_lost" },
      { status: "connected", reason: null },
    ]);
  });

  it("ends disconnected with reason logged_out when the phone removes the device", async () => {
    const account = await createAccount();
    const { session, phone } = await linkedSession(account.key);
    await fault(account.key, session.id, "logout");
    const s = await waitForSession(account.key, session.id, (x) => x.status === "disconnected" && x.reason === "logged_out");
    expect(s.reason).toBe("logged_out");
    // The phone no longer lists the device.
    const phones = await call("GET", "/v1/sandbox/phones", { key: account.key });
    const linked = phones.json.phones.find((p: any) => p.phone_number === phone.phone_number).linked_devices;
    expect(linked.filter((d: any) => d.session_id === session.id && d.status === "linked")).toEqual([]);
  });

  it("ends banned when WhatsApp forbids the account", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    await fault(account.key, session.id, "ban");
    const s = await waitForSession(account.key, session.id, (x) => x.status === "banned");
    expect(s.reason).toBe("banned");
  });

  it("stays disconnected when another client replaces the connection (no reconnect fight)", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const loginsBefore = await logins(account.id, session.id);
    await fault(account.key, session.id, "replaced");
    await waitForSession(account.key, session.id, (x) => x.status === "disconnected" && x.reason === "replaced");
    // Recorded facts, not a wait: the object stopped (not running, no reconnect scheduled,
    // no socket), so nothing can log in again; and the sandbox saw no new login.
    const { state, schedule } = await sessionFacts(session.id);
    expect(state.running).toBe(false);
    expect(schedule.reconnect).toBeUndefined();
    expect((await sessionObject(session.id).snapshot()).socketOpen).toBe(false);
    expect(await logins(account.id, session.id)).toBe(loginsBefore);
  });
});
