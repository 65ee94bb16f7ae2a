import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

// The Worker's own fetch, as the asset router hands it what it does not serve itself: the Worker
// tries ASSETS for non-API paths (src/index.ts). public/ is built by `npm test` before vitest.
const BASE = "http://gateway.test";
const SELF = { fetch: (url: string, init?: RequestInit) => exports.default.fetch(new Request(url, init)) };
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

describe("dashboard assets", () => {
  it("serves the dashboard's HTML at /", async () => {
    const res = await SELF.fetch(`${BASE}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain("<title>WhatsApp Gateway</title>");
    expect(html).toMatch(/<script type="module"[^>]* src="\/assets\/index-[\w-]+\.js"/);
  });

  it("serves the hashed scripts with a year-long immutable cache", async () => {
    const html = await (await SELF.fetch(`${BASE}/`)).text();
    const script = html.match(/src="(\/assets\/index-[\w-]+\.js)"/)![1];
    const res = await SELF.fetch(BASE + script);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("javascript");
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    await res.body?.cancel();
  });

  it("keeps /v1 paths for the API", async () => {
    const res = await SELF.fetch(`${BASE}/v1/account`);
    expect(res.status).toBe(401);
    expect(res.headers.get("Content-Type")).toContain("application/json");
    expect((await res.json<any>()).success).toBe(false);
  });

  it("keeps /openapi.json and /docs for the Worker", async () => {
    const spec = await SELF.fetch(`${BASE}/openapi.json`);
    expect(spec.status).toBe(200);
    expect((await spec.json<any>()).openapi).toBe("3.1.0");
    const docs = await SELF.fetch(`${BASE}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get("Content-Type")).toContain("text/html");
    await docs.body?.cancel();
  });

  it("answers an unknown path that is not a file with the API's JSON 404", async () => {
    const res = await SELF.fetch(`${BASE}/no-such-page`);
    expect(res.status).toBe(404);
    expect((await res.json<any>()).error.code).toBe("not_found");
  });

  it("does not serve the _headers rules file itself", async () => {
    const res = await SELF.fetch(`${BASE}/_headers`);
    expect(res.status).toBe(404);
    await res.body?.cancel();
  });

  it("sends the strict CSP and the other safety headers with the page, and never caches it as immutable", async () => {
    for (const path of ["/", "/index.html"]) {
      const res = await SELF.fetch(BASE + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("Content-Security-Policy"), path).toBe(CSP);
      expect(res.headers.get("X-Content-Type-Options"), path).toBe("nosniff");
      expect(res.headers.get("Referrer-Policy"), path).toBe("no-referrer");
      expect(res.headers.get("Cache-Control") ?? "", path).not.toContain("immutable");
      await res.body?.cancel();
    }
  });

  it("answers HEAD / with the page's headers and no body", async () => {
    const res = await SELF.fetch(`${BASE}/`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    expect(res.headers.get("Content-Security-Policy")).toBe(CSP);
    expect(await res.text()).toBe("");
  });

  it("hands a POST to / to the API, which answers with its JSON error", async () => {
    const res = await SELF.fetch(`${BASE}/`, { method: "POST", body: "{}", headers: { "Content-Type": "application/json" } });
    expect([404, 405]).toContain(res.status);
    expect(res.headers.get("Content-Type")).toContain("application/json");
    expect((await res.json<any>()).success).toBe(false);
  });

  it("treats /v1x as no API path: not a file either, so the API's JSON 404", async () => {
    const res = await SELF.fetch(`${BASE}/v1x`);
    expect(res.status).toBe(404);
    expect((await res.json<any>()).error.code).toBe("not_found");
  });
});
