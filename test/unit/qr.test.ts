import jsQR from "jsqr";
import { decode } from "fast-png";
import { describe, expect, it } from "vitest";
import { dataUrlBytes, qrPngDataUrl, qrSvg } from "../../src/domain/qr";

// A QR string of the shape Baileys rc14 emits.
const VALUE =
  "https://wa.me/settings/linked_devices#2@abcDEF123,dGVzdG5vaXNla2V5AAAAAAAAAAAAAAAAAAAAAAAAAA=,aWRlbnRpdHlrZXkAAAAAAAAAAAAAAAAAAAAAAAAAAA=,YWR2c2VjcmV0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,1";

describe("QR rendering", () => {
  it("renders a PNG data URL that decodes back to the same string", async () => {
    const url = await qrPngDataUrl(VALUE);
    expect(url.startsWith("data:image/png;base64,")).toBe(true);
    const png = decode(dataUrlBytes(url));
    expect(png.channels).toBe(4);
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    expect(decoded?.data).toBe(VALUE);
  });

  it("renders SVG", async () => {
    const svg = await qrSvg(VALUE);
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  });
});
