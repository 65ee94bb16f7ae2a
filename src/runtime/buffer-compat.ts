import { Buffer } from "node:buffer";

// workerd's Buffer#utf8Write (and its latin1/ascii/ucs2/hex/base64 siblings) treats an omitted
// `length` as the whole buffer instead of Node's "up to the end from offset", so any write at an
// offset > 0 without a length throws RangeError. protobufjs writes every string of 40+ characters
// that way: without this, encoding a WhatsApp message with a long text or a media URL fails.

const METHODS = ["utf8Write", "latin1Write", "asciiWrite", "ucs2Write", "hexWrite", "base64Write", "base64urlWrite"] as const;
let applied = false;

type Writer = (this: Uint8Array, s: string, offset?: number, length?: number) => number;

export function fixBufferWrites(): void {
  if (applied) return;
  applied = true;
  const proto = Buffer.prototype as unknown as Record<string, Writer | undefined>;
  for (const name of METHODS) {
    const original = proto[name];
    if (typeof original !== "function") continue;
    if (!needsFix(name)) continue;
    proto[name] = function (this: Uint8Array, s: string, offset = 0, length?: number) {
      return original.call(this, s, offset, length ?? Math.max(0, this.length - offset));
    };
  }
}

/** Only patch a method that actually has the defect, so a fixed runtime keeps its own code. */
function needsFix(name: (typeof METHODS)[number]): boolean {
  const b = Buffer.alloc(8);
  try {
    (b as unknown as Record<string, Writer>)[name].call(b, name === "hexWrite" ? "00" : "AA", 4);
    return false;
  } catch {
    return true;
  }
}
