import { describe, expect, it } from "vitest";
import { mediaKind, OPAQUE, safeMediaType } from "../../dashboard/src/lib/media-type";

describe("dashboard: the type incoming media may keep", () => {
  it("keeps common image, video and audio types (base type, lower case)", () => {
    expect(safeMediaType("image/JPEG")).toBe("image/jpeg");
    expect(safeMediaType("audio/ogg; codecs=opus")).toBe("audio/ogg");
    expect(safeMediaType("video/mp4")).toBe("video/mp4");
    expect(mediaKind("image/webp")).toBe("image");
    expect(mediaKind("audio/ogg")).toBe("audio");
  });

  it("turns anything a browser could render as a document into bytes to download", () => {
    for (const type of ["text/html", "image/svg+xml", "application/xhtml+xml", "application/pdf", "text/xml", "application/javascript", "", "image/svg+xml; charset=utf-8"]) {
      expect(safeMediaType(type), type).toBe(OPAQUE);
    }
    expect(mediaKind(OPAQUE)).toBe("download");
  });
});
