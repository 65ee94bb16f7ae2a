// Checks the layering of src/: every import points down (or stays in its folder), no file-level
// import cycle, nothing but the router imports a routes file, the sandbox's handlers and core
// keep to their places, and files stay small.
// Run by `npm test` before vitest; `node scripts/check-layers.mjs` alone prints the same.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src");

// Lower rank = lower layer. A folder may import its own files and any folder of lower rank;
// folders of equal rank are peers and may not import each other.
const RANK = {
  domain: 0, // pure rules: imports nothing of the project
  runtime: 1, // what lets Baileys run in workerd
  platform: 2, // bindings, SQL helper, logger, bounded retry, outbound fetches
  db: 3, // D1 queries
  events: 4, // the event producer
  session: 5, // the session Durable Object
  sandbox: 5, // the sandbox WhatsApp Durable Object (a peer of session: neither imports the other)
  recovery: 6, // the recovery sweep and its object
  queues: 7, // queue consumers
  api: 8, // routes
  "index.ts": 9, // the Worker's entry: composes everything
};
// Inside src/sandbox: a protocol handler builds on the core and leaf modules, never on what composes
// it (the world, the driver); the core knows no handler (handlers register with it instead).
const SANDBOX_RULES = [
  { from: /^sandbox\/[^/]+\.handler\.ts$/, to: /^sandbox\/(sandbox\.world|driver[^/]*)\.ts$/, why: "a handler imports the world or the driver" },
  { from: /^sandbox\/server\.core\.ts$/, to: /^sandbox\/[^/]+\.handler\.ts$/, why: "the core imports a handler" },
];
const MAX_LINES = 400;
// Files allowed past MAX_LINES, each with the reason (say it in docs/architecture.md too).
const LONG_FILES = {
  "runtime/generated/whatsapp-rust-bridge.js": "generated",
};

const files = [];
(function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full);
    else if (/\.(ts|js)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) files.push(full);
  }
})(SRC);

const rel = (f) => path.relative(SRC, f).split(path.sep).join("/");
const layerOf = (f) => rel(f).split("/")[0];
const resolveImport = (from, spec) => {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.js`, path.join(base, "index.ts")]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return null;
};

const problems = [];
const graph = new Map();
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["'](\.{1,2}\/[^"']+)["']|(?:^|\n)\s*import\s*["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

for (const file of files) {
  const text = fs.readFileSync(file, "utf8");
  const lines = text.split("\n").length;
  const name = rel(file);
  if (lines > MAX_LINES && !LONG_FILES[name]) problems.push(`${name}: ${lines} lines (over ${MAX_LINES})`);
  const from = layerOf(file);
  if (!(from in RANK)) problems.push(`${name}: folder "${from}" has no rank in scripts/check-layers.mjs`);
  const edges = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    const target = resolveImport(file, spec);
    if (!target) {
      problems.push(`${name}: cannot resolve "${spec}"`);
      continue;
    }
    if (!target.startsWith(SRC)) continue;
    edges.push(target);
    const to = layerOf(target);
    if (/\.routes\.ts$/.test(target) && name !== "api/router.ts") problems.push(`${name} imports a routes file: ${rel(target)}`);
    for (const rule of SANDBOX_RULES) {
      if (rule.from.test(name) && rule.to.test(rel(target))) problems.push(`${name} imports ${rel(target)} (${rule.why})`);
    }
    if (from === to) continue;
    if (!(RANK[to] < RANK[from])) problems.push(`${name} imports up or sideways: ${rel(target)} (${from} ${RANK[from]} → ${to} ${RANK[to]})`);
  }
  graph.set(file, edges);
}

// File-level cycles (depth-first search, three colours).
const state = new Map();
const stack = [];
function visit(file) {
  state.set(file, 1);
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === 1) {
      problems.push(`import cycle: ${[...stack.slice(stack.indexOf(next)), next].map(rel).join(" → ")}`);
    } else if (!state.get(next)) visit(next);
  }
  stack.pop();
  state.set(file, 2);
}
for (const file of files) if (!state.get(file)) visit(file);

if (problems.length) {
  console.error(`check-layers: ${problems.length} problem(s)\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`check-layers: ${files.length} files, imports point down, no cycle, none over ${MAX_LINES} lines`);
