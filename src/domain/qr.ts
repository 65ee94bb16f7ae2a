// QR rendering with the `qrcode` library. Its package "browser" entry needs a canvas, so the
// server build (PNG through pngjs, SVG as text) is imported directly.
// @ts-expect-error: the server entry has no type declarations of its own
import * as QRCode from "qrcode/lib/server.js";
import type { QRCodeToDataURLOptions, QRCodeToStringOptions } from "qrcode";

const PNG_OPTIONS: QRCodeToDataURLOptions = { errorCorrectionLevel: "M", margin: 2, width: 320, type: "image/png" };

export async function qrPngDataUrl(value: string): Promise<string> {
  return (QRCode as typeof import("qrcode")).toDataURL(value, PNG_OPTIONS);
}

export async function qrSvg(value: string): Promise<string> {
  const options: QRCodeToStringOptions = { type: "svg", errorCorrectionLevel: "M", margin: 2 };
  return (QRCode as typeof import("qrcode")).toString(value, options);
}

export function dataUrlBytes(dataUrl: string): Uint8Array {
  const base64 = dataUrl.slice(dataUrl.indexOf(",") + 1);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}
