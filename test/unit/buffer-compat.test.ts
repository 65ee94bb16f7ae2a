import { proto } from "baileys";
import { describe, expect, it } from "vitest";
import { fixBufferWrites } from "../../src/runtime/buffer-compat";

describe("fixBufferWrites", () => {
  it("gives Buffer writes at an offset Node's default length, so protobuf encodes long strings", () => {
    fixBufferWrites();
    const b = Buffer.alloc(64);
    const write = (b as unknown as { utf8Write(s: string, offset: number, length?: number): number }).utf8Write.bind(b);
    expect(write("é".repeat(20), 10)).toBe(40);
    expect(b.subarray(10, 50).toString()).toBe("é".repeat(20));
    expect(write("abc", 60, 2)).toBe(2);
    const text = `${"long text ".repeat(10)}✓ ünïcode`;
    const encoded = proto.Message.encode({ extendedTextMessage: { text, matchedText: "https://example.com/a/long/enough/url/path" } }).finish();
    expect(proto.Message.decode(encoded).extendedTextMessage?.text).toBe(text);
  });
});
