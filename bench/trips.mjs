#!/usr/bin/env node
// `npm run bench:trips` (and the end of `npm run bench`): round trips per route and D1 trips per
// message sent, counted on the real bindings in an instrumented vitest run
// (bench/trips.config.ts, bench/trips/*.trips.ts). Counts, not timings: they hold on any machine,
// and on Cloudflare each D1 call or object call is a network trip. No dev server needed.
// Prints a table and writes bench/results/trips.json.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { log, ROOT } from "./lib.mjs";

const MARK = "TRIPS_JSON ";

/** Runs the instrumented vitest; its output goes to stderr, its figures come back parsed. */
function runVitest() {
  // The vitest plugin reads public/ (wrangler.toml [assets]); `npm test` and `npm run dev` build it.
  if (!existsSync(path.join(ROOT, "public"))) spawnSync(process.execPath, ["scripts/build-assets.mjs"], { cwd: ROOT, stdio: ["ignore", 2, 2] });
  // The Node 22 of the `node` dev dependency (wrangler and vitest need it), as npm scripts use.
  const local = path.join(ROOT, "node_modules/.bin/node");
  const node = existsSync(local) ? local : process.execPath;
  const vitest = path.join(ROOT, "node_modules/vitest/vitest.mjs");
  return new Promise((resolve) => {
    const child = spawn(node, [vitest, "run", "--config", "bench/trips.config.ts"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const parts = {};
    let rest = "";
    child.stdout.on("data", (chunk) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop();
      for (const line of lines) {
        const at = line.indexOf(MARK);
        if (at < 0) {
          process.stderr.write(line + "\n");
          continue;
        }
        const { part, figures } = JSON.parse(line.slice(at + MARK.length));
        parts[part] = figures;
      }
    });
    child.stderr.pipe(process.stderr);
    child.on("close", (code) => resolve({ code, parts }));
  });
}

const SEND = /^POST /;

/** The table's rows: one per route, then the session object's bursts. */
function rows(parts) {
  const out = [];
  for (const r of parts.routes ?? []) {
    const judged = r.target !== "–";
    const met = r.sequential <= 2;
    out.push([
      `${r.route}${r.status >= 300 ? ` → ${r.status}` : ""}`,
      String(r.sequential),
      String(r.d1),
      String(r.object_calls),
      String(r.queue_sends),
      judged ? `≤ 2 sequential${SEND.test(r.route) ? "" : " (reads)"}: ${met ? "met" : "NOT met"}` : "–",
    ]);
  }
  for (const b of parts.object ?? []) {
    const per = b.d1_per_message;
    out.push([
      `session object while sending, ${b.burst}, per message sent${b.complete ? "" : " (INCOMPLETE: not all final)"}${b.trips_after_window ? ` (+${b.trips_after_window} counted after its window)` : ""}`,
      "–",
      `${per.toFixed(2)} (${b.d1_trips} for ${b.messages})`,
      "–",
      "–",
      `≤ 0.1 D1/message: ${per <= 0.1 ? "met" : "NOT met"}`,
    ]);
  }
  return out;
}

export function tripsTable(parts) {
  const head = ["route", "sequential trips", "D1 trips", "object calls", "queue sends", "target (issue 10)"];
  const all = [head, ...rows(parts)];
  const widths = head.map((_, i) => Math.max(...all.map((c) => c[i].length)));
  const line = (c) => `| ${c.map((v, i) => v.padEnd(widths[i])).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...all.slice(1).map(line)].join("\n");
}

/** Runs the counted part, writes bench/results/trips.json; returns the table's text (null: no figures). */
export async function trips() {
  const started = Date.now();
  log("round trips: instrumented run (vitest, bench/trips.config.ts)");
  const { code, parts } = await runVitest();
  const missing = ["routes", "object"].filter((p) => !parts[p]);
  if (missing.length === 2) {
    log(`round trips: no figures (vitest exited ${code})`);
    return null;
  }
  const out = { date: new Date().toISOString(), vitest_exit: code, missing, ...parts };
  const dir = path.join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "trips.json"), JSON.stringify(out, null, 2) + "\n");
  log(`round trips written to bench/results/trips.json (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return `Round trips, counted on the real bindings (D1 calls, Durable Object calls, queue sends; "sequential" = the longest
chain of trips that did not overlap). Counts hold on any machine: on Cloudflare each is a network trip.

${tripsTable(parts)}
${missing.length ? `WARNING: no figures for ${missing.join(", ")} (vitest exited ${code}; its output is above)\n` : ""}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  trips().then(
    (text) => {
      if (text) console.log(`\n${text}`);
      process.exit(text ? 0 : 1);
    },
    (err) => {
      console.error(err?.stack ?? err);
      process.exit(1);
    },
  );
}
