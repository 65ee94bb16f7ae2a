import { Buffer } from "node:buffer";

export const NOISE_MODE = "Noise_XX_25519_AESGCM_SHA256\0\0\0\0";
/** "WA", protocol 6, dictionary version 3: the intro header and Noise prologue. */
export const WA_HEADER = Buffer.from([87, 65, 6, 3]);

/**
 * Splits the client's byte stream into frames: an intro header first (`WA 6 3`, or `ED` + routing info
 * + `WA 6 3`), then 3-byte big-endian length-prefixed frames.
 */
export class FrameReader {
  private buf = Buffer.alloc(0);
  private sawIntro = false;
  prologue: Buffer | undefined;

  push(data: Uint8Array): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : Buffer.from(data);
    if (!this.sawIntro) {
      if (this.buf.length < 4) return [];
      let offset = 0;
      if (this.buf[0] === 0x45 && this.buf[1] === 0x44) {
        if (this.buf.length < 7) return [];
        const len = (this.buf[4] << 16) | this.buf.readUInt16BE(5);
        offset = 7 + len;
        if (this.buf.length < offset + 4) return [];
      }
      const header = this.buf.subarray(offset, offset + 4);
      if (header[0] !== 0x57 || header[1] !== 0x41) throw new Error("bad intro header");
      this.prologue = Buffer.from(header);
      this.buf = this.buf.subarray(offset + 4);
      this.sawIntro = true;
    }
    const frames: Buffer[] = [];
    while (this.buf.length >= 3) {
      const size = (this.buf[0] << 16) | (this.buf[1] << 8) | this.buf[2];
      if (this.buf.length < size + 3) break;
      frames.push(Buffer.from(this.buf.subarray(3, size + 3)));
      this.buf = this.buf.subarray(size + 3);
    }
    return frames;
  }
}

export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length >= 1 << 24) throw new Error("frame too large");
  const out = Buffer.alloc(payload.length + 3);
  out[0] = (payload.length >>> 16) & 0xff;
  out[1] = (payload.length >>> 8) & 0xff;
  out[2] = payload.length & 0xff;
  out.set(payload, 3);
  return out;
}
