import { describe, expect, it } from "vitest";
import { findInputProblem, jsonDepthExceeds, textProblem } from "../../src/domain/safe-input";

describe("textProblem", () => {
  it("lets message text keep tab, line feed and carriage return, and paired surrogates", () => {
    expect(textProblem("line 1\r\n\tline 2 🙂")).toBeNull();
  });

  it("refuses lone surrogates, NUL and other control characters", () => {
    expect(textProblem("a\ud800")).toBe("lone_surrogate");
    expect(textProblem("\udc00a")).toBe("lone_surrogate");
    expect(textProblem("a\u0000")).toBe("control_character");
    expect(textProblem("\u001b[31m")).toBe("control_character");
    expect(textProblem("\u007f")).toBe("control_character");
  });

  it("refuses line breaks and tabs in single-line text", () => {
    expect(textProblem("a\nb", true)).toBe("line_break");
    expect(textProblem("a\tb", true)).toBe("line_break");
  });
});

describe("jsonDepthExceeds", () => {
  it("counts nesting outside strings only", () => {
    expect(jsonDepthExceeds('{"a":[[1]]}', 3)).toBe(false);
    expect(jsonDepthExceeds('{"a":[[[1]]]}', 3)).toBe(true);
    expect(jsonDepthExceeds(`{"a":"${"[".repeat(100)}\\"${"{".repeat(100)}"}`, 1)).toBe(false);
  });

  it("scans 10,000 levels without recursion", () => {
    expect(jsonDepthExceeds("[".repeat(10_000) + "]".repeat(10_000), 32)).toBe(true);
  });
});

describe("findInputProblem", () => {
  it("names the path of a prototype key at any depth", () => {
    const doc = JSON.parse('{"messages":[{"metadata":{"ok":1,"__proto__":{"callback_url":"x"}}}]}');
    expect(findInputProblem(doc)).toMatchObject({ path: "messages.0.metadata.__proto__", code: "forbidden_key" });
    expect(findInputProblem({ a: { constructor: 1 } })).toMatchObject({ path: "a.constructor", code: "forbidden_key" });
    expect(findInputProblem({ prototype: 1 })).toMatchObject({ path: "prototype" });
  });

  it("names unstorable text in values and keys", () => {
    expect(findInputProblem({ name: "x\u0000" })).toMatchObject({ path: "name", code: "control_character" });
    expect(findInputProblem({ ["k\ud800"]: 1 })).toMatchObject({ code: "lone_surrogate" });
  });

  it("walks a very deep document without exhausting the stack", () => {
    let doc: unknown = "end\u0000";
    for (let i = 0; i < 50_000; i++) doc = [doc];
    expect(findInputProblem(doc)?.code).toBe("control_character");
  });

  it("accepts an ordinary document", () => {
    expect(findInputProblem({ to_number: ["+1 415"], content: "Hi\n", location: { latitude: 1 } })).toBeNull();
  });
});
