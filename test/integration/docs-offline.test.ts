import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DOCS_SCRIPT_PATH } from "../../src/api/docs.routes";

// /docs must render without internet: the page and everything it loads come from this Worker.
const BASE = "http://gateway.test";

async function docsPage(): Promise<string> {
  const res = await exports.default.fetch(`${BASE}/docs`);
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
  return res.text();
}

describe("/docs offline", () => {
  it("references nothing outside this origin", async () => {
    const html = await docsPage();
    // Every address the page names is a path on this Worker; no scheme-relative or absolute URL.
    const refs = [...html.matchAll(/\b(?:src|href|data-url)\s*=\s*["']([^"']*)["']/g)].map((m) => m[1]);
    expect(refs).toEqual(["/openapi.json", DOCS_SCRIPT_PATH]);
    expect(html).not.toMatch(/[a-z]+:\/\/|["'(]\/\//i);
  });

  it("turns off Scalar's CDN fonts and its cloud features", async () => {
    const html = await docsPage();
    const raw = /data-configuration='([^']*)'/.exec(html)?.[1];
    expect(JSON.parse(raw ?? "null")).toEqual({
      withDefaultFonts: false,
      telemetry: false,
      showDeveloperTools: "never",
      agent: { disabled: true },
      mcp: { disabled: true },
    });
  });

  it("serves Scalar's script as a static asset of the Worker", async () => {
    const res = await exports.default.fetch(`${BASE}${DOCS_SCRIPT_PATH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^(text|application)\/javascript/);
    const script = await res.text();
    // The standalone build registers window.Scalar and reads the font option the page sets
    // (a renamed option in a Scalar update would bring the CDN fonts back).
    expect(script).toContain("window.Scalar={createApiReference");
    expect(script).toContain("withDefaultFonts");
  });
});
