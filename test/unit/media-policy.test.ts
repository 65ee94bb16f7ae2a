import { describe, expect, it } from "vitest";
import { checkMimetype, checkSize, isPrivateHost, MEDIA_RULES, mediaUrlProblem, normalizeMimetype, sniffMimetype } from "../../src/domain/media-policy";

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p)));

describe("media limits (seeds 002/003)", () => {
  it("has the seed sizes, taking the larger where they differ", () => {
    const MB = 1024 * 1024;
    expect(MEDIA_RULES.image.maxBytes).toBe(16 * MB);
    expect(MEDIA_RULES.video.maxBytes).toBe(64 * MB);
    expect(MEDIA_RULES.audio.maxBytes).toBe(16 * MB);
    expect(MEDIA_RULES.document.maxBytes).toBe(100 * MB);
    expect(checkSize("image", 16 * MB)).toBeNull();
    expect(checkSize("image", 16 * MB + 1)).toMatchObject({ ok: false, code: "media_too_large" });
    expect(checkSize("sticker", 600 * 1024)).toMatchObject({ code: "media_too_large" });
  });

  it("allows the seed formats per type", () => {
    for (const m of ["image/jpeg", "image/png", "image/webp", "image/gif"]) expect(checkMimetype("image", m, null).ok).toBe(true);
    for (const m of ["video/mp4", "video/3gpp", "video/quicktime", "video/webm"]) expect(checkMimetype("video", m, null).ok).toBe(true);
    for (const m of ["audio/mpeg", "audio/ogg", "audio/aac", "audio/wav", "audio/opus", "audio/amr", "audio/mp4"]) expect(checkMimetype("audio", m, null).ok).toBe(true);
    expect(checkMimetype("document", "application/vnd.ms-excel", null).ok).toBe(true);
    expect(checkMimetype("image", "image/tiff", null)).toMatchObject({ ok: false, code: "unsupported_media_type" });
    expect(checkMimetype("sticker", "image/png", null).ok).toBe(false);
    expect(checkMimetype("video", "text/html", null).ok).toBe(false);
  });

  it("trusts a specific label, sniffs a generic one", () => {
    expect(checkMimetype("image", "application/octet-stream", "image/png")).toEqual({ ok: true, mimetype: "image/png" });
    expect(checkMimetype("image", null, "image/jpeg")).toEqual({ ok: true, mimetype: "image/jpeg" });
    expect(checkMimetype("image", null, null).ok).toBe(false);
    expect(checkMimetype("document", "application/octet-stream", null)).toEqual({ ok: true, mimetype: "application/octet-stream" });
  });

  it("normalises Content-Type headers", () => {
    expect(normalizeMimetype("Image/JPEG; charset=binary")).toBe("image/jpeg");
    expect(normalizeMimetype("nonsense")).toBeNull();
    expect(normalizeMimetype(null)).toBeNull();
  });

  it("recognises the leading bytes of common media", () => {
    expect(sniffMimetype(bytes([0xff, 0xd8, 0xff, 0xe0]))).toBe("image/jpeg");
    expect(sniffMimetype(bytes([0x89], "PNG", [0x0d, 0x0a, 0x1a, 0x0a]))).toBe("image/png");
    expect(sniffMimetype(bytes("GIF89a"))).toBe("image/gif");
    expect(sniffMimetype(bytes("RIFF", [0, 0, 0, 0], "WEBPVP8 "))).toBe("image/webp");
    expect(sniffMimetype(bytes("%PDF-1.7"))).toBe("application/pdf");
    expect(sniffMimetype(bytes("OggS"))).toBe("audio/ogg");
    expect(sniffMimetype(bytes([0, 0, 0, 0x18], "ftypmp42"))).toBe("video/mp4");
    expect(sniffMimetype(bytes([0, 0, 0, 0x14], "ftyp3gp4"))).toBe("video/3gpp");
    expect(sniffMimetype(bytes("hello world"))).toBeNull();
  });
});

describe("media URL policy", () => {
  it("refuses private, loopback and link-local hosts", () => {
    for (const host of ["localhost", "a.localhost", "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "[::1]", "[fd00::1]", "[fe80::1]", "[::ffff:7f00:1]", "intranet", "printer.local", "db.internal"]) {
      expect(isPrivateHost(host), host).toBe(true);
    }
    for (const host of ["example.com", "8.8.8.8", "172.32.0.1", "[2606:4700::1111]"]) expect(isPrivateHost(host), host).toBe(false);
  });

  it("refuses non-http schemes, credentials, and private hosts unless allowed", () => {
    expect(mediaUrlProblem("https://cdn.example.com/a.png", false)).toBeNull();
    expect(mediaUrlProblem("file:///etc/passwd", false)).toMatch(/http/);
    expect(mediaUrlProblem("https://user:pw@cdn.example.com/a.png", false)).toMatch(/credentials/);
    expect(mediaUrlProblem("http://2130706433/a.png", false)).toMatch(/private/); // 127.0.0.1 in decimal
    expect(mediaUrlProblem("http://127.0.0.1:8080/a.png", true)).toBeNull();
    expect(mediaUrlProblem("not a url", true)).toMatch(/valid/);
  });
});
