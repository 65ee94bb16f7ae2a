import { describe, expect, it } from "vitest";
import { idempotencyContext } from "../../src/api/idempotency";

const context = (url: string, body: unknown) =>
  idempotencyContext(new Request(url, { method: "POST", headers: { "Idempotency-Key": "k" } }), new URL(url), body);

describe("idempotencyContext", () => {
  it("hashes the decoded path: %2B and + name the same phone", async () => {
    const encoded = await context("http://gateway.test/v1/sandbox/phones/%2B15550001001/messages", { text: "hi" });
    const plain = await context("http://gateway.test/v1/sandbox/phones/+15550001001/messages", { text: "hi" });
    expect(encoded?.requestHash).toBe(plain?.requestHash);
    expect(encoded?.path).toBe("/v1/sandbox/phones/+15550001001/messages");
  });

  it("still tells different paths and bodies apart", async () => {
    const a = await context("http://gateway.test/v1/sandbox/phones/+15550001001/messages", { text: "hi" });
    const b = await context("http://gateway.test/v1/sandbox/phones/+15550001002/messages", { text: "hi" });
    const c = await context("http://gateway.test/v1/sandbox/phones/+15550001001/messages", { text: "ho" });
    expect(new Set([a?.requestHash, b?.requestHash, c?.requestHash]).size).toBe(3);
  });

  it("keeps a malformed path as it is instead of throwing", async () => {
    const ctx = await context("http://gateway.test/v1/x/%E0%A4%A", null);
    expect(ctx?.path).toBe("/v1/x/%E0%A4%A");
  });
});
