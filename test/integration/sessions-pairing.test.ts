import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { createPhone, createSandboxSession, openStream, waitForSession } from "../helpers/sessions";

describe("linking a session", () => {
  it("pairs by QR: QR in the response and on the stream, scan, connected", async () => {
    const account = await createAccount();
    const phone = await createPhone(account.key, { name: "Alice Shop" });

    const created = await createSandboxSession(account.key);
    expect(created.session).toMatchObject({ status: "pending", phone_number: null, sandbox: true });
    expect(created.session.session_id).toBe(`session_${created.session.id}`);
    expect(created.qr_code).toMatch(/^data:image\/png;base64,/);

    const stream = await openStream(account.key, created.session.id);
    const [qr] = await stream.waitFor((events) => events.some((e) => e.event === "qr"));
    expect(stream.events.find((e) => e.event === "qr")!.data).toMatchObject({
      qr: expect.stringMatching(/^https:\/\/wa\.me\/settings\/linked_devices#/),
      qr_code: expect.stringMatching(/^data:image\/png;base64,/),
    });
    expect(qr).toBeDefined();

    const scan = await call("POST", `/v1/sandbox/sessions/${created.session.id}/scan`, {
      key: account.key,
      body: { phone_number: phone.phone_number },
    });
    expect(scan.status, scan.text).toBe(200);

    await stream.waitFor((events) => events.some((e) => e.event === "connected"));
    const connected = stream.events.find((e) => e.event === "connected")!;
    expect(connected.data).toEqual({ phone_number: phone.phone_number, display_name: expect.any(String) });
    // The stream closes after `connected`.
    await stream.waitForEnd();

    const session = await waitForSession(account.key, created.session.id, (s) => s.status === "connected");
    expect(session).toMatchObject({ status: "connected", phone_number: phone.phone_number, reason: null });
  });

  it("pairs by pairing code entered on the phone", async () => {
    const account = await createAccount();
    const phone = await createPhone(account.key);
    const { session } = await createSandboxSession(account.key);

    const code = await call("POST", `/v1/whatsapp/sessions/${session.id}/pairing-code`, {
      key: account.key,
      body: { phone_number: `+${phone.phone_number}` },
    });
    expect(code.status, code.text).toBe(200);
    expect(code.json.pairing_code).toMatch(/^[A-Z0-9]{8}$/);

    const entered = await call("POST", `/v1/sandbox/phones/${phone.phone_number}/pairing-code`, {
      key: account.key,
      body: { code: code.json.pairing_code },
    });
    expect(entered.status, entered.text).toBe(200);

    const linked = await waitForSession(account.key, session.id, (s) => s.status === "connected");
    expect(linked.phone_number).toBe(phone.phone_number);
  });

  it("rejects a pairing code request with an invalid number", async () => {
    const account = await createAccount();
    const { session } = await createSandboxSession(account.key);
    const res = await call("POST", `/v1/whatsapp/sessions/${session.id}/pairing-code`, {
      key: account.key,
      body: { phone_number: "12" },
    });
    expect(res.status).toBe(422);
    expect(res.json.error.details[0].field).toBe("phone_number");
  });
});
