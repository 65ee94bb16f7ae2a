// The paths the Worker answers itself rather than the static assets (the dashboard). wrangler.toml
// [assets] run_worker_first must list the same patterns (test/unit/worker-paths.test.ts compares).
// A pattern ending in "/*" matches what starts with the part before "*"; any other is exact.
export const WORKER_PATHS = ["/v1", "/v1/*", "/openapi.json", "/docs"] as const;

export function isWorkerPath(pathname: string): boolean {
  return WORKER_PATHS.some((p) => (p.endsWith("/*") ? pathname.startsWith(p.slice(0, -1)) : pathname === p));
}
