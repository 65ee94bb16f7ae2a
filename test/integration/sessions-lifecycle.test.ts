import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { createSandboxSession, linkedSession, openStream, waitForSession } from "../helpers/sessions";

const sessionObject = (id: string) => env.SESSION.get(env.SESSION.idFromName(id));

async function qrCount(key: string, id: string): Promise<number> {
  const stream = await openStream(key, id, { "Last-Event-ID": "0" }, "?timeout=5");
  await stream.waitForEnd();
  return stream.events.filter((e) => e.event === "qr").length;
}

describe("session lifecycle", () => {
  it("resumes linked after the session object restarts", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const qrsBefore = await qrCount(account.key, session.id);

    // A deploy or an eviction kills the object and its socket.
    await runInDurableObject(sessionObject(session.id), (_, state) => state.abort("restart")).catch(() => {});
    // The watchdog alarm (or any call) wakes it; it restores from SQLite and logs in again.
    await runDurableObjectAlarm(sessionObject(session.id));
    await expect.poll(async () => (await sessionObject(session.id).snapshot()).socketOpen, { timeout: 10_000 }).toBe(true);
    const linked = await waitForSession(account.key, session.id, (s) => s.status === "connected");
    expect(linked.phone_number).not.toBeNull();
    expect(await qrCount(account.key, session.id)).toBe(qrsBefore);
  });

  it("on_demand: sleeps after the idle timeout and wakes on its alarm, staying connected", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key, {
      connection_mode: "on_demand",
      idle_timeout_seconds: 1,
      wake_interval_seconds: 5,
    });
    expect(session.connection_mode).toBe("on_demand");
    const stub = sessionObject(session.id);

    await expect.poll(async () => (await stub.snapshot()).socketOpen, { timeout: 10_000 }).toBe(false);
    expect((await stub.snapshot()).status).toBe("connected");
    // The wake alarm reopens the socket to pull offline messages, then it sleeps again.
    await expect.poll(async () => (await stub.snapshot()).socketOpen, { timeout: 15_000, interval: 100 }).toBe(true);
    await expect.poll(async () => (await stub.snapshot()).socketOpen, { timeout: 10_000 }).toBe(false);
    const s = (await call("GET", `/v1/whatsapp/sessions/${session.id}`, { key: account.key })).json.session;
    expect(s.status).toBe("connected");
  });

  it("disconnect keeps the link and stops; reconnect comes back without a QR", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const qrsBefore = await qrCount(account.key, session.id);

    const off = await call("PATCH", `/v1/whatsapp/sessions/${session.id}/disconnect`, { key: account.key });
    expect(off.status).toBe(200);
    expect(off.json.session).toMatchObject({ status: "disconnected", reason: "disconnected_by_user" });
    expect((await sessionObject(session.id).snapshot()).socketOpen).toBe(false);

    const on = await call("PATCH", `/v1/whatsapp/sessions/${session.id}/reconnect`, { key: account.key });
    expect(on.status).toBe(200);
    expect(on.json.qr_code).toBeNull();
    await waitForSession(account.key, session.id, (s) => s.status === "connected");
    expect(await qrCount(account.key, session.id)).toBe(qrsBefore);
  });

  it("logout unlinks and wipes keys; reconnect then starts over with a new QR", async () => {
    const account = await createAccount();
    const { session, phone } = await linkedSession(account.key);
    const out = await call("POST", `/v1/whatsapp/sessions/${session.id}/logout`, { key: account.key });
    expect(out.status).toBe(200);
    expect(out.json.session).toMatchObject({ status: "disconnected", reason: "logged_out" });
    const phones = (await call("GET", "/v1/sandbox/phones", { key: account.key })).json.phones;
    const devices = phones.find((p: any) => p.phone_number === phone.phone_number).linked_devices;
    expect(devices.filter((d: any) => d.session_id === session.id && d.status === "linked")).toEqual([]);

    const again = await call("PATCH", `/v1/whatsapp/sessions/${session.id}/reconnect`, { key: account.key });
    expect(again.json.session.status).toBe("pending");
    expect(again.json.qr_code).toMatch(/^data:image\/png;base64,/);
  });

  it("delete logs out, wipes the object and removes the session", async () => {
    const account = await createAccount();
    const { session, phone } = await linkedSession(account.key);
    const del = await call("DELETE", `/v1/whatsapp/sessions/${session.id}`, { key: account.key });
    expect(del.status).toBe(200);
    expect((await call("GET", `/v1/whatsapp/sessions/${session.id}`, { key: account.key })).status).toBe(404);
    const phones = (await call("GET", "/v1/sandbox/phones", { key: account.key })).json.phones;
    const devices = phones.find((p: any) => p.phone_number === phone.phone_number).linked_devices;
    expect(devices.filter((d: any) => d.session_id === session.id && d.status === "linked")).toEqual([]);
    const rows = await runInDurableObject(sessionObject(session.id), (_, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'wa_auth%'").toArray(),
    );
    expect(rows).toEqual([]);
  });

  it("enforces the plan's session limit with 429", async () => {
    const account = await createAccount({ plan: "free" });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await createSandboxSession(account.key)).session.id);
    const over = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true } });
    expect(over.status).toBe(429);
    expect(over.json.error.code).toBe("session_limit_reached");
    expect((await call("GET", "/v1/whatsapp/sessions", { key: account.key })).json.sessions).toHaveLength(10);
    for (const id of ids) await call("DELETE", `/v1/whatsapp/sessions/${id}`, { key: account.key });
  });
});

describe("session tenant isolation", () => {
  it("answers 404 on every session route for another account's session", async () => {
    const owner = await createAccount();
    const other = await createAccount();
    const { session } = await createSandboxSession(owner.key);
    const routes: [string, string, unknown?][] = [
      ["GET", `/v1/whatsapp/sessions/${session.id}`],
      ["GET", `/v1/whatsapp/sessions/${session.session_id}`],
      ["GET", `/v1/whatsapp/sessions/${session.id}/qr-code`],
      ["GET", `/v1/whatsapp/sessions/${session.id}/stream`],
      ["POST", `/v1/whatsapp/sessions/${session.id}/pairing-code`, { phone_number: "+14155552671" }],
      ["PATCH", `/v1/whatsapp/sessions/${session.id}/disconnect`],
      ["PATCH", `/v1/whatsapp/sessions/${session.id}/reconnect`],
      ["POST", `/v1/whatsapp/sessions/${session.id}/logout`],
      ["DELETE", `/v1/whatsapp/sessions/${session.id}`],
      ["POST", `/v1/sandbox/sessions/${session.id}/scan`, { phone_number: "15550001234" }],
      ["POST", `/v1/sandbox/sessions/${session.id}/faults`, { kind: "drop" }],
    ];
    for (const [method, path, body] of routes) {
      const res = await call(method, path, { key: other.key, body });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json.error.code).toBe("not_found");
    }
    expect((await call("GET", "/v1/whatsapp/sessions", { key: other.key })).json.sessions).toEqual([]);
    // Still there for its owner.
    expect((await call("GET", `/v1/whatsapp/sessions/${session.id}`, { key: owner.key })).status).toBe(200);
  });
});
