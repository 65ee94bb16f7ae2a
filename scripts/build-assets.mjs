#!/usr/bin/env node
// Builds the Worker's static assets into public/ (gitignored): the dashboard (dashboard/, Vite +
// Preact), then the offline docs' files (scripts/build-docs.mjs). `npm run dev` and `npm test`
// run it first: wrangler and the vitest plugin both read public/ through wrangler.toml [assets].
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

function run(command, args) {
  const result = spawnSync(command, args, { stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`build-assets: ${command} ${args.join(" ")} failed`);
    process.exit(result.status ?? 1);
  }
}

// The dashboard has its own tsconfig (DOM, JSX); the root typecheck covers the Worker only.
run("npx", ["tsc", "--noEmit", "-p", "dashboard"]);
run("npx", ["vite", "build", "--config", "dashboard/vite.config.ts", "--logLevel", "warn"]);
if (existsSync("scripts/build-docs.mjs")) run(process.execPath, ["scripts/build-docs.mjs"]);
