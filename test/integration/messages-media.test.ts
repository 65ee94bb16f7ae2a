import { beforeAll, describe, expect, inject, it } from "vitest";
import { createAccount, type TestAccount } from "../helpers/api";
import { connectedSession, farFuture, send, storedCounts } from "../helpers/messages";

const media = (path: string) => `${inject("mediaServerUrl")}${path}`;
let account: TestAccount;
let sessionId: string;

beforeAll(async () => {
  account = await createAccount({ balance: 10_000, message_cost: 10, plan: "pro" });
  sessionId = (await connectedSession(account.key)).id;
}, 60_000);

const body = (type: string, path: string, extra: Record<string, unknown> = {}) => ({
  whatsapp_session_id: sessionId,
  to_number: ["+14155552671"],
  type,
  media_url: media(path),
  scheduled_at: farFuture(),
  ...extra,
});

// sha256 of the 1x1 PNG the fixture server serves.
async function sha256(bytes: Uint8Array) {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("media_url at accept time", () => {
  it("fetches the media and records its type, size and sha256 for the outbox", async () => {
    const res = await send(account.key, body("image", "/png", { content: "Check out this photo!" }));
    expect(res.status, res.text).toBe(201);
    const png = await (await fetch(media("/png"))).bytes();
    expect(res.json.data.messages[0]).toMatchObject({ type: "image", content: "Check out this photo!", media_url: media("/png") });
    expect(res.json.data.messages[0].payload).toEqual({ mimetype: "image/png", size: png.byteLength, sha256: await sha256(png) });
  });

  it("sniffs a generically labelled file, follows redirects, and does without HEAD", async () => {
    for (const path of ["/png-octet", "/redirect", "/no-head"]) {
      const res = await send(account.key, body("image", path));
      expect(res.status, `${path}: ${res.text}`).toBe(201);
      expect(res.json.data.messages[0].payload.mimetype).toBe("image/png");
    }
  });

  it("names a document after its URL unless a filename is given; stickers must be WebP", async () => {
    const doc = await send(account.key, body("document", "/pdf", { content: "Invoice" }));
    expect(doc.status, doc.text).toBe(201);
    expect(doc.json.data.messages[0].payload).toMatchObject({ mimetype: "application/pdf", filename: "pdf" });
    const named = await send(account.key, body("document", "/pdf", { filename: "invoice-7.pdf" }));
    expect(named.json.data.messages[0].payload.filename).toBe("invoice-7.pdf");
    expect((await send(account.key, body("sticker", "/webp"))).status).toBe(201);
    expect((await send(account.key, body("sticker", "/png"))).status).toBe(422);
  });

  it("413 media_too_large from the declared length, and from counting an undeclared stream", async () => {
    const before = await storedCounts(account.id);
    const declared = await send(account.key, body("image", "/big-declared"));
    expect(declared.status).toBe(413);
    expect(declared.json.error.code).toBe("media_too_large");
    expect(declared.json.error.details[0].field).toBe("media_url");

    // No length declared: the reader stops once it passes a sticker's 500 KB.
    const streamed = await send(account.key, body("sticker", "/big-chunked"));
    expect(streamed.status).toBe(413);
    expect(streamed.json.error.code).toBe("media_too_large");
    expect(await storedCounts(account.id)).toEqual(before);
  });

  it("422 unsupported_media_type and media_unreachable; nothing stored", async () => {
    const before = await storedCounts(account.id);
    const wrong = await send(account.key, body("image", "/text"));
    expect(wrong.status).toBe(422);
    expect(wrong.json.error.code).toBe("unsupported_media_type");
    const video = await send(account.key, body("video", "/png"));
    expect(video.json.error.code).toBe("unsupported_media_type");

    const missing = await send(account.key, body("image", "/missing"));
    expect(missing.status).toBe(422);
    expect(missing.json.error).toMatchObject({ code: "media_unreachable", details: [{ field: "media_url" }] });
    expect(await storedCounts(account.id)).toEqual(before);
  });

  it("refuses URLs with credentials", async () => {
    const url = media("/png").replace("http://", "http://user:secret@");
    const res = await send(account.key, { ...body("image", "/png"), media_url: url });
    expect(res.status).toBe(422);
    expect(res.json.error.details[0]).toMatchObject({ field: "media_url", code: "media_url_not_allowed" });
  });
});
