#!/usr/bin/env node
// Copies the API reference's renderer (Scalar's standalone browser build) into public/docs/, so
// /docs works without internet: the Worker serves public/ as static assets (wrangler.toml [assets]).
// scripts/build-assets.mjs runs this after the dashboard's Vite build (which empties public/).
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
// The package's exports map hides dist/browser: find it next to the main entry (dist/index.js).
const distDir = path.dirname(require.resolve("@scalar/api-reference"));
const source = path.join(distDir, "browser", "standalone.js");
const target = path.join("public", "docs", "scalar.js");

mkdirSync(path.dirname(target), { recursive: true });
copyFileSync(source, target);
console.log(`build-docs: ${target} (Scalar standalone)`);
