import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MEDIA_RETRY_TIMEOUT_MS } from "../../src/session/incoming-media";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { createPhone, fault, linkedSession, sandboxEventsOf, waitForSession } from "../helpers/sessions";

// Media WhatsApp's host no longer serves (404/410) is asked of the sender's phone again
// (`<receipt type="server-error">` → `<notification type="mediaretry">`); a phone that never
// answers must not hang the media API: it answers 410 media_expired within its bound. Only a
// media that is truly gone is 410: a session that cannot ask the phone right now is 503.

const jpeg = () => {
  const bytes = new Uint8Array(4096).map((_, i) => (i * 17) % 256);
  bytes.set([0xff, 0xd8, 0xff, 0xe0]);
  return bytes;
};

/** A new contact sends the session an image; returns the incoming row and the bytes. */
async function incomingImage(account: TestAccount, sessionId: string, to: string) {
  const contact = await createPhone(account.key, { name: "Ivy" });
  const bytes = jpeg();
  const sent = await call("POST", `/v1/sandbox/phones/${contact.phone_number}/messages`, {
    key: account.key,
    body: { to, type: "image", base64: btoa(String.fromCharCode(...bytes)), mimetype: "image/jpeg" },
  });
  expect(sent.status, sent.text).toBe(201);
  let row: any;
  await expect
    .poll(async () => {
      row = (await call("GET", `/v1/whatsapp/messages/${sessionId}/session?filter[direction]=incoming`, { key: account.key })).json.data[0];
      return row?.type;
    }, { timeout: 20_000, interval: 100 })
    .toBe("image");
  return { row, bytes };
}

const getMedia = (key: string, id: string) =>
  exports.default.fetch(new Request(`http://gateway.test/v1/whatsapp/messages/${id}/media`, { headers: { Authorization: `Bearer ${key}` } }));

describe("expired incoming media", () => {
  it("is uploaded again by the sender's phone and served", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const { row, bytes } = await incomingImage(account, session.id, session.phone_number);
    await fault(account.key, session.id, { kind: "expire_media" });

    const res = await getMedia(account.key, row.id);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    const retries = await sandboxEventsOf(account.id, session.id, "mediaretry");
    expect(retries.map((e) => e.detail)).toEqual([expect.objectContaining({ result: "success" })]);

    // The new direct path is kept: a second download needs no second request to the phone.
    const again = await getMedia(account.key, row.id);
    expect(again.status).toBe(200);
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(bytes);
    expect(await sandboxEventsOf(account.id, session.id, "mediaretry")).toHaveLength(1);
  });

  it("answers 410 media_expired within its bound when the phone never answers", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const { row } = await incomingImage(account, session.id, session.phone_number);
    await fault(account.key, session.id, { kind: "expire_media" });
    await fault(account.key, session.id, { kind: "mediaretry_unanswered" });

    const started = Date.now();
    const res = await getMedia(account.key, row.id);
    const took = Date.now() - started;
    expect(res.status).toBe(410);
    expect(((await res.json()) as any).error.code).toBe("media_expired");
    // It did ask the phone, and waited no longer than the bound (plus the download attempts).
    expect(await sandboxEventsOf(account.id, session.id, "mediaretry_unanswered")).toHaveLength(1);
    expect(took).toBeGreaterThanOrEqual(MEDIA_RETRY_TIMEOUT_MS - 100);
    expect(took).toBeLessThan(MEDIA_RETRY_TIMEOUT_MS + 5_000);
  }, 60_000);

  it("answers 503 session_unavailable while the session is disconnected, and serves the media once it is back", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const { row, bytes } = await incomingImage(account, session.id, session.phone_number);
    await fault(account.key, session.id, { kind: "expire_media" });
    expect((await call("PATCH", `/v1/whatsapp/sessions/${session.id}/disconnect`, { key: account.key })).status).toBe(200);
    await waitForSession(account.key, session.id, (s) => s.status === "disconnected");

    const res = await getMedia(account.key, row.id);
    expect(res.status).toBe(503);
    expect(((await res.json()) as any).error.code).toBe("session_unavailable");
    // Nothing was asked of the phone: there was no socket to ask with.
    expect(await sandboxEventsOf(account.id, session.id, "mediaretry")).toHaveLength(0);

    expect((await call("PATCH", `/v1/whatsapp/sessions/${session.id}/reconnect`, { key: account.key })).status).toBe(200);
    await waitForSession(account.key, session.id, (s) => s.status === "connected");
    const back = await getMedia(account.key, row.id);
    expect(back.status).toBe(200);
    expect(new Uint8Array(await back.arrayBuffer())).toEqual(bytes);
  }, 60_000);
});
