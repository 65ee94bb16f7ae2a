import { describe, expect, it } from "vitest";
import { decode } from "fast-png";
import jsQR from "jsqr";
import { dataUrlBytes } from "../../src/domain/qr";
import { call, createAccount } from "../helpers/api";
import { createSandboxSession, linkedSession, openStream } from "../helpers/sessions";

function decodeQr(png: Uint8Array): string | undefined {
  const image = decode(png);
  return jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data;
}

describe("session QR codes", () => {
  it("serves the current QR as PNG data URL, raw string, SVG and image; the PNG decodes to the raw string", async () => {
    const account = await createAccount();
    const { session, qr_code } = await createSandboxSession(account.key);
    const raw = await call("GET", `/v1/whatsapp/sessions/${session.id}/qr-code?format=raw`, { key: account.key });
    expect(raw.status).toBe(200);
    expect(raw.json.qr_code).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#/);
    expect(decodeQr(dataUrlBytes(qr_code!))).toBe(raw.json.qr_code);

    const png = await call("GET", `/v1/whatsapp/sessions/${session.id}/qr-code`, { key: account.key });
    expect(png.json).toMatchObject({ success: true, format: "png", qr_code: expect.stringMatching(/^data:image\/png;base64,/) });
    expect(decodeQr(dataUrlBytes(png.json.qr_code))).toBe(raw.json.qr_code);

    const svg = await call("GET", `/v1/whatsapp/sessions/${session.id}/qr-code?format=svg`, { key: account.key });
    expect(svg.json.qr_code).toMatch(/^<svg/);

    const image = await call("GET", `/v1/whatsapp/sessions/${session.id}/qr-code?format=image`, { key: account.key });
    expect(image.headers.get("Content-Type")).toBe("image/png");

    const bad = await call("GET", `/v1/whatsapp/sessions/${session.id}/qr-code?format=gif`, { key: account.key });
    expect(bad.status).toBe(422);
    expect(bad.json.error.details[0]).toMatchObject({ field: "format", in: "query" });
  });

  it("rotates the QR on the stream while nobody scans", async () => {
    const account = await createAccount();
    const { session } = await createSandboxSession(account.key, { qr_timeout_seconds: 2 });
    const stream = await openStream(account.key, session.id);
    await stream.waitFor((events) => events.filter((e) => e.event === "qr").length >= 3, 15_000);
    const qrs = stream.events.filter((e) => e.event === "qr").map((e) => e.data.qr);
    expect(new Set(qrs).size).toBe(qrs.length);
    // Event ids increase, so a reconnecting client can resume.
    const ids = stream.events.map((e) => Number(e.id));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    await stream.close();
  });

  it("resumes the stream from Last-Event-ID and serves several subscribers", async () => {
    const account = await createAccount();
    const { session } = await createSandboxSession(account.key, { qr_timeout_seconds: 2 });
    const first = await openStream(account.key, session.id);
    const second = await openStream(account.key, session.id);
    await first.waitFor((events) => events.filter((e) => e.event === "qr").length >= 2, 15_000);
    await second.waitFor((events) => events.some((e) => e.event === "qr"), 15_000);
    const lastSeen = first.events.at(-1)!;
    await first.close();

    const resumed = await openStream(account.key, session.id, { "Last-Event-ID": lastSeen.id! });
    await resumed.waitFor((events) => events.some((e) => e.event === "qr"), 15_000);
    expect(Number(resumed.events[0].id)).toBeGreaterThan(Number(lastSeen.id));
    await resumed.close();
    await second.close();
  });

  it("answers 409 for the QR of a connected session", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const res = await call("GET", `/v1/whatsapp/sessions/${session.id}/qr-code`, { key: account.key });
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe("session_not_pending");
  });
});
