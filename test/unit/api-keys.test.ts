import { describe, expect, it } from "vitest";
import {
  generateApiKey,
  isWellFormedApiKey,
  sha256Hex,
  timingSafeEqualString,
  visiblePrefix,
} from "../../src/domain/api-keys";

describe("API key helpers", () => {
  it("generates distinct well-formed keys", () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a).not.toBe(b);
    expect(isWellFormedApiKey(a)).toBe(true);
    expect(isWellFormedApiKey("wag_short")).toBe(false);
    expect(visiblePrefix(a)).toHaveLength(12);
  });

  it("hashes with SHA-256", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("compares secrets without early exit semantics", () => {
    expect(timingSafeEqualString("token", "token")).toBe(true);
    expect(timingSafeEqualString("token", "tokem")).toBe(false);
    expect(timingSafeEqualString("token", "token2")).toBe(false);
  });
});
