import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { createPhone, createSandboxSession, fault, sandboxEventsOf, sessionObject, streamEvents, waitForSession } from "../helpers/sessions";

// The pairing-code request names the session's platform ("Browser (OS)"); WhatsApp answers it
// with an iq error 400 unless both are a browser and an OS it knows (whatsmeow pair-code.go),
// and Baileys never reads that answer. The gateway does, and says so instead of handing out a
// code that can never work.

async function requestCode(key: string, sessionId: string, phoneNumber: string) {
  return call("POST", `/v1/whatsapp/sessions/${sessionId}/pairing-code`, { key, body: { phone_number: `+${phoneNumber}` } });
}

/** What Baileys holds right now as the session's own number (creds.me), and its noise key. */
async function liveCreds(sessionId: string): Promise<{ me: string | null; noise: string }> {
  return runInDurableObject(sessionObject(sessionId), (instance) => {
    const creds = (instance as any).conn.auth().state.creds;
    return { me: creds.me?.id ?? null, noise: Buffer.from(creds.noiseKey.public).toString("hex") };
  });
}

async function rawQr(key: string, sessionId: string): Promise<string | null> {
  const res = await call("GET", `/v1/whatsapp/sessions/${sessionId}/qr-code?format=raw`, { key });
  return res.status === 200 ? res.json.qr_code : null;
}

describe("pairing codes and the session's browser", () => {
  it("the default browser passes WhatsApp's platform check: the code links the phone", async () => {
    const account = await createAccount();
    const phone = await createPhone(account.key);
    const { session } = await createSandboxSession(account.key);
    const code = await requestCode(account.key, session.id, phone.phone_number);
    expect(code.status, code.text).toBe(200);
    // The server saw a real pair, and accepted it.
    const [requested] = await sandboxEventsOf(account.id, session.id, "link_code_requested");
    expect(requested.detail.platform_display).toBe("Chrome (Windows)");
    const entered = await call("POST", `/v1/sandbox/phones/${phone.phone_number}/pairing-code`, { key: account.key, body: { code: code.json.pairing_code } });
    expect(entered.status, entered.text).toBe(200);
    expect((await waitForSession(account.key, session.id, (s) => s.status === "connected")).phone_number).toBe(phone.phone_number);
  });

  it("a session's own browser is announced, and pairs by code", async () => {
    const account = await createAccount();
    const phone = await createPhone(account.key);
    const { session } = await createSandboxSession(account.key, { browser: "Firefox (Ubuntu)" });
    const code = await requestCode(account.key, session.id, phone.phone_number);
    expect(code.status, code.text).toBe(200);
    const [requested] = await sandboxEventsOf(account.id, session.id, "link_code_requested");
    expect(requested.detail.platform_display).toBe("Firefox (Ubuntu)");
    const entered = await call("POST", `/v1/sandbox/phones/${phone.phone_number}/pairing-code`, { key: account.key, body: { code: code.json.pairing_code } });
    expect(entered.status, entered.text).toBe(200);
    await waitForSession(account.key, session.id, (s) => s.status === "connected");
  });

  it("a browser WhatsApp does not know: 502 pairing_code_refused with WhatsApp's code, and the session can still pair by QR", async () => {
    const account = await createAccount();
    const phone = await createPhone(account.key);
    // What the gateway announced before: ["Gateway", "Chrome", "1.0"], shown as "Chrome (Gateway)".
    const { session } = await createSandboxSession(account.key, { browser: "Chrome (Gateway)" });
    const res = await requestCode(account.key, session.id, phone.phone_number);
    expect(res.status, res.text).toBe(502);
    expect(res.json).toMatchObject({
      success: false,
      error: { code: "pairing_code_refused", details: { whatsapp_code: 400, whatsapp_text: "bad-request" } },
    });
    const [refused] = await sandboxEventsOf(account.id, session.id, "link_code_refused");
    expect(refused.detail).toMatchObject({ platform_display: "Chrome (Gateway)", code: 400 });

    // The refused number was not kept as the session's own: it still pairs by QR.
    expect((await liveCreds(session.id)).me).toBeNull();
    expect((await call("GET", `/v1/whatsapp/sessions/${session.id}`, { key: account.key })).json.session.status).toBe("pending");
    const scan = await call("POST", `/v1/sandbox/sessions/${session.id}/scan`, { key: account.key, body: { phone_number: phone.phone_number } });
    expect(scan.status, scan.text).toBe(200);
    expect((await waitForSession(account.key, session.id, (s) => s.status === "connected")).phone_number).toBe(phone.phone_number);
  });

  it("an accepted code never entered, then a dropped socket: back to pending with a new QR, keys not wiped", async () => {
    const account = await createAccount();
    const phone = await createPhone(account.key);
    const { session } = await createSandboxSession(account.key);
    const firstQr = await rawQr(account.key, session.id);
    const code = await requestCode(account.key, session.id, phone.phone_number);
    expect(code.status, code.text).toBe(200);
    // The number is Baileys' `me` now, but nothing is linked: the drop must not count as a linked session's.
    const before = await liveCreds(session.id);
    expect(before.me).toContain(phone.phone_number);

    await fault(account.key, session.id, { kind: "drop" });
    await expect.poll(async () => {
      const qr = await rawQr(account.key, session.id);
      return qr !== null && qr !== firstQr;
    }, { timeout: 20_000, interval: 200 }).toBe(true);
    const s = (await call("GET", `/v1/whatsapp/sessions/${session.id}`, { key: account.key })).json.session;
    expect(s.status).toBe("pending");
    const statuses = (await streamEvents(account.key, session.id)).filter((e) => e.event === "status").map((e) => e.data.status);
    expect(statuses).not.toContain("disconnected");
    // Same keys (not wiped), and the unentered code's number is gone.
    expect(await liveCreds(session.id)).toEqual({ me: null, noise: before.noise });
    expect(await sandboxEventsOf(account.id, session.id, "login")).toEqual([]);
  });

  it("WhatsApp silent: the request ends unanswered (504 path), and a second one meanwhile gets 409 pairing_code_in_progress", async () => {
    const account = await createAccount();
    const phone = await createPhone(account.key);
    const { session } = await createSandboxSession(account.key);
    expect(await rawQr(account.key, session.id)).not.toBeNull();
    await fault(account.key, session.id, { kind: "silence" });
    // The object's own call, with a short answer timeout (the route uses 15 s).
    const first = sessionObject(session.id).requestPairingCode(phone.phone_number, 3_000);
    await expect.poll(async () => (await requestCode(account.key, session.id, phone.phone_number)).json.error?.code, { timeout: 2_500, interval: 100 })
      .toBe("pairing_code_in_progress");
    expect(await first).toEqual({ kind: "unanswered" });
    expect((await liveCreds(session.id)).me).toBeNull();
  });

  it("refuses an Android browser at creation (Baileys would log in as a phone): 422", async () => {
    const account = await createAccount();
    const res = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true, browser: "Android (Ubuntu)" } });
    expect(res.status, res.text).toBe(422);
    expect(res.json.error.details[0].field).toBe("browser");
    expect((await call("GET", "/v1/whatsapp/sessions", { key: account.key })).json.sessions).toEqual([]);
  });

  it("presents the session's browser, null when the default applies", async () => {
    const account = await createAccount();
    const own = await createSandboxSession(account.key, { browser: "Firefox (Ubuntu)" });
    expect(own.session.browser).toBe("Firefox (Ubuntu)");
    const plain = await createSandboxSession(account.key);
    expect(plain.session.browser).toBeNull();
    expect((await call("GET", `/v1/whatsapp/sessions/${own.session.id}`, { key: account.key })).json.session.browser).toBe("Firefox (Ubuntu)");
  });

  it("rejects a browser that is not \"Browser (OS)\" at creation (422, nothing created)", async () => {
    const account = await createAccount();
    const res = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true, browser: "Chrome" } });
    expect(res.status).toBe(422);
    expect(res.json.error.details[0].field).toBe("browser");
    const list = await call("GET", "/v1/whatsapp/sessions", { key: account.key });
    expect(list.json.sessions).toEqual([]);
  });
});
