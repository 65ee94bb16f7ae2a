/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import wranglerToml from "../../wrangler.toml?raw";
import { isWorkerPath, WORKER_PATHS } from "../../src/domain/worker-paths";

describe("the Worker's own paths", () => {
  it("are the patterns wrangler.toml [assets] run_worker_first lists", () => {
    const line = wranglerToml.match(/^run_worker_first\s*=\s*(\[.*\])\s*$/m);
    expect(line, "run_worker_first in wrangler.toml").not.toBeNull();
    expect(JSON.parse(line![1])).toEqual([...WORKER_PATHS]);
  });

  it("match the API and its documents, not look-alikes or the dashboard", () => {
    for (const p of ["/v1", "/v1/", "/v1/account", "/openapi.json", "/docs"]) expect(isWorkerPath(p), p).toBe(true);
    for (const p of ["/", "/v1x", "/v10/account", "/docs/scalar.js", "/openapi.jsonx", "/assets/index.js", "/health"]) expect(isWorkerPath(p), p).toBe(false);
  });
});
