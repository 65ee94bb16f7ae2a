import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { linkedSession, openStream, waitForSession } from "../helpers/sessions";

async function fault(key: string, sessionId: string, kind: string) {
  const res = await call("POST", `/v1/sandbox/sessions/${sessionId}/faults`, { key, body: { kind } });
  expect(res.status, res.text).toBe(200);
}

describe("session faults", () => {
  it("comes back connected after a dropped socket, without a new QR", async () => {
    const account = await createAccount();
    const { session, phone } = await linkedSession(account.key);
    const stream = await openStream(account.key, session.id, { "Last-Event-ID": "0" }, "?timeout=30");
    await stream.waitForEnd(); // the backlog holds `connected`, so the stream closes at once
    const qrsBefore = stream.events.filter((e) => e.event === "qr").length;

    await fault(account.key, session.id, "drop");
    await waitForSession(account.key, session.id, (s) => s.status === "disconnected" && s.reason === "connection_lost");
    const back = await waitForSession(account.key, session.id, (s) => s.status === "connected");
    expect(back.phone_number).toBe(phone.phone_number);

    const after = await openStream(account.key, session.id, { "Last-Event-ID": "0" }, "?timeout=5");
    await after.waitForEnd();
    expect(after.events.filter((e) => e.event === "qr").length).toBe(qrsBefore);
    const statuses = after.events.filter((e) => e.event === "status").map((e) => e.data.status);
    expect(statuses.slice(-2)).toEqual(["disconnected", "connected"]);
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
    await fault(account.key, session.id, "replaced");
    await waitForSession(account.key, session.id, (x) => x.status === "disconnected" && x.reason === "replaced");
    // Give a reconnect loop time to show itself: the sandbox must see no new login.
    await new Promise((r) => setTimeout(r, 2500));
    const s = (await call("GET", `/v1/whatsapp/sessions/${session.id}`, { key: account.key })).json.session;
    expect(s).toMatchObject({ status: "disconnected", reason: "replaced" });
  });
});
