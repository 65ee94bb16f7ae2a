import { describe, expect, it } from "vitest";
import { BoundedCache } from "../../src/domain/bounded-cache";

describe("the isolate cache's bounds", () => {
  it("drops the oldest entry when full", () => {
    const cache = new BoundedCache<number>(2, 60_000);
    cache.set("a", 1, 0);
    cache.set("b", 2, 0);
    cache.set("c", 3, 0);
    expect([cache.get("a", 0), cache.get("b", 0), cache.get("c", 0)]).toEqual([undefined, 2, 3]);
  });

  it("never returns an entry older than its age bound", () => {
    const cache = new BoundedCache<number>(10, 1000);
    cache.set("a", 1, 0);
    expect(cache.get("a", 1000)).toBe(1);
    expect(cache.get("a", 1001)).toBeUndefined();
  });

  it("forgets every entry a predicate matches (a revoked key, an account's sessions)", () => {
    const cache = new BoundedCache<{ account: string }>(10, 1000);
    cache.set("k1", { account: "x" }, 0);
    cache.set("k2", { account: "y" }, 0);
    cache.deleteWhere((v) => v.account === "x");
    expect([cache.get("k1", 0), cache.get("k2", 0)]).toEqual([undefined, { account: "y" }]);
  });
});
