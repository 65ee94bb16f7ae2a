// Reads the QR code an element shows, from a screenshot of it, as a phone camera would.
import { decode } from "fast-png";
import jsQR from "jsqr";
import type { Locator } from "playwright-core";

export async function readQr(image: Locator): Promise<string | undefined> {
  const png = decode(await image.screenshot());
  const rgba = new Uint8ClampedArray(png.width * png.height * 4);
  for (let i = 0, p = 0; p < png.width * png.height; p++, i += png.channels) {
    rgba.set([png.data[i], png.data[i + 1], png.data[i + 2], png.channels === 4 ? png.data[i + 3] : 255], p * 4);
  }
  return jsQR(rgba, png.width, png.height)?.data;
}
