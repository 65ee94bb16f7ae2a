import { describe, expect, it } from "vitest";
import { parseQuery } from "../../src/api/query";

describe("parseQuery", () => {
  it("reads seed 000 bracketed filters", () => {
    const q = parseQuery(
      new URLSearchParams("filter[to_number][]=229961&filter[to_number][]=229962&filter[status]=sent&limit=5"),
    );
    expect(q).toEqual({ filter: { to_number: ["229961", "229962"], status: "sent" }, limit: "5" });
  });

  it("keeps a single list value a list", () => {
    expect(parseQuery(new URLSearchParams("filter[to_number][]=1"))).toEqual({ filter: { to_number: ["1"] } });
  });

  it("turns a repeated plain key into a list", () => {
    expect(parseQuery(new URLSearchParams("a=1&a=2"))).toEqual({ a: ["1", "2"] });
  });

  it("leaves keys with unbalanced brackets as they are", () => {
    expect(parseQuery(new URLSearchParams("weird[=1"))).toEqual({ "weird[": "1" });
  });
});
