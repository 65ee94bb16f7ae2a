// Builds the Worker as `wrangler deploy` would (dry run) and prints its gzipped size.
// Exits non-zero above the free plan's 3 MB limit (compressed script size).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";

const LIMIT_BYTES = 3 * 1024 * 1024;
const outdir = mkdtempSync(path.join(tmpdir(), "wa-gateway-bundle-"));
try {
  const build = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outdir], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  if (build.status !== 0) {
    process.stdout.write(build.stdout ?? "");
    console.error(`bundle-size: wrangler deploy --dry-run failed (exit ${build.status})`);
    process.exit(1);
  }
  // Everything wrangler would upload: the script, its source-less modules (.wasm etc.); not maps.
  const files = readdirSync(outdir).filter((f) => !f.endsWith(".map") && f !== "README.md");
  let raw = 0;
  let gzipped = 0;
  for (const file of files) {
    const full = path.join(outdir, file);
    if (!statSync(full).isFile()) continue;
    const bytes = readFileSync(full);
    const gz = gzipSync(bytes, { level: 9 }).length;
    raw += bytes.length;
    gzipped += gz;
    console.log(`${file.padEnd(70)} ${kib(bytes.length).padStart(12)} ${kib(gz).padStart(12)} gzip`);
  }
  const reported = /Total Upload: ([\d.]+ KiB) \/ gzip: ([\d.]+ KiB)/.exec(build.stdout ?? "");
  console.log(`total ${kib(raw)}, gzipped ${kib(gzipped)} (limit ${kib(LIMIT_BYTES)})`);
  if (reported) console.log(`wrangler reports: ${reported[1]} / gzip ${reported[2]}`);
  if (gzipped > LIMIT_BYTES) {
    console.error(`bundle-size: gzipped bundle ${kib(gzipped)} exceeds ${kib(LIMIT_BYTES)}`);
    process.exit(1);
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}

function kib(n) {
  return `${(n / 1024).toFixed(1)} KiB`;
}
