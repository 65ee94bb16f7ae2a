import { describe, expect, it } from "vitest";
import { parseHeaderLines } from "../../dashboard/src/lib/header-lines";

describe("dashboard: a webhook's custom header lines", () => {
  it("reads 'Name: value' lines, skipping blank ones and keeping colons in values", () => {
    expect(parseHeaderLines("X-Api-Key: abc\n\n  Authorization: Basic a:b  \n")).toEqual({ "X-Api-Key": "abc", Authorization: "Basic a:b" });
  });

  it("refuses a line without a name and colon, saying which line", () => {
    expect(() => parseHeaderLines("X-Ok: 1\nX-Broken value")).toThrow('Custom headers, line 2: write "Name: value".');
    expect(() => parseHeaderLines(": no name")).toThrow(/line 1/);
  });
});
