import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/api/errors";
import { parseQuery, QUERY_LIMITS } from "../../src/api/query";

function refusal(search: string): ApiError {
  try {
    parseQuery(search);
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error(`parseQuery accepted ${search}`);
}

describe("parseQuery", () => {
  it("reads seed 000 bracketed filters", () => {
    const q = parseQuery("?filter[to_number][]=229961&filter[to_number][]=229962&filter[status]=sent&limit=5");
    expect(q).toEqual({ filter: { to_number: ["229961", "229962"], status: "sent" }, limit: "5" });
  });

  it("keeps a single list value a list", () => {
    expect(parseQuery("filter[to_number][]=1")).toEqual({ filter: { to_number: ["1"] } });
  });

  it("turns a repeated plain key into a list", () => {
    expect(parseQuery("a=1&a=2")).toEqual({ a: ["1", "2"] });
  });

  it("decodes percent-encoding and + in keys and values", () => {
    expect(parseQuery("filter%5Bfrom_number%5D=%2B1555+0001")).toEqual({ filter: { from_number: "+1555 0001" } });
  });

  it("builds null-prototype objects", () => {
    const q = parseQuery("filter[status]=sent");
    expect(Object.getPrototypeOf(q)).toBeNull();
    expect(Object.getPrototypeOf(q.filter)).toBeNull();
  });

  it.each(["__proto__[callback_url]=x", "a[__proto__][b]=x", "constructor[prototype][x]=1", "filter[prototype]=1", "%5F%5Fproto%5F%5F[x]=1", "filter[x=1][__proto__][callback_url]=x", "a[b=c]=1&filter[y=]=2&q[z=1][constructor][x]=1"])(
    "refuses the prototype key in %s with 422 naming it, and writes nothing onto Object.prototype",
    (search) => {
      const before = Object.getOwnPropertyNames(Object.prototype).sort();
      const error = refusal(search);
      expect(error.status).toBe(422);
      expect(error.details).toEqual([expect.objectContaining({ in: "query", code: "forbidden_key", message: expect.stringMatching(/__proto__|constructor|prototype/) })]);
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
      expect(({} as Record<string, unknown>).callback_url).toBeUndefined();
    },
  );

  it("refuses malformed percent-encoding instead of keeping it raw", () => {
    expect(refusal("a=%E0%A4%A").details).toEqual([expect.objectContaining({ code: "malformed_encoding" })]);
    expect(refusal("a=%ff").status).toBe(422);
  });

  it("refuses control characters in values", () => {
    expect(refusal("filter[from_number]=1%00").details).toEqual([expect.objectContaining({ field: "filter.from_number", code: "control_character" })]);
  });

  it("answers its limits with 422 rather than reshaping the input", () => {
    const many = Array.from({ length: QUERY_LIMITS.arrayLength + 1 }, (_, i) => `filter[to_number][]=${i}`).join("&");
    expect(refusal(many).details).toEqual([expect.objectContaining({ code: "query_limit", message: expect.stringContaining(String(QUERY_LIMITS.arrayLength)) })]);
    expect(refusal("a[b][c][d][e][f][g][h]=1").status).toBe(422);
  });
});
