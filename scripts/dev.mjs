#!/usr/bin/env node
// `npm run dev`: local D1 migrations, a development account, then `wrangler dev` with
// everything embedded (D1, Queues, Durable Objects, the sandbox WhatsApp).
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const port = process.env.PORT || "8787";
const stateDir = ".wrangler";
const stateFile = join(stateDir, "dev-credentials.json");
const DEV_ACCOUNT_ID = "00000000-0000-4000-8000-000000000001";
// DEV_PERSIST_TO: keep local D1/DO/queue state in another folder (a second gateway beside this one,
// or a run that must start empty, such as the browser tests). Default: wrangler's own .wrangler/state.
const persist = process.env.DEV_PERSIST_TO ? ["--persist-to", process.env.DEV_PERSIST_TO] : [];

const saved = existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, "utf8")) : {};
const newKey = () => "wag_" + randomBytes(32).toString("base64url");
const apiKey = process.env.DEV_API_KEY || saved.apiKey || newKey();
const adminToken = process.env.ADMIN_TOKEN || saved.adminToken || randomBytes(24).toString("base64url");
mkdirSync(stateDir, { recursive: true });
writeFileSync(stateFile, JSON.stringify({ apiKey: process.env.DEV_API_KEY ? saved.apiKey : apiKey, adminToken }, null, 2));

if (!/^wag_[A-Za-z0-9_-]{43}$/.test(apiKey)) {
  console.error("DEV_API_KEY must look like wag_ followed by 43 base64url characters (e.g. from `POST /v1/keys`).");
  process.exit(1);
}

function wrangler(args, options = {}) {
  const result = spawnSync("npx", ["wrangler", ...args], { stdio: "inherit", env: { ...process.env, CI: "true" }, ...options });
  if (result.status !== 0) {
    console.error(`wrangler ${args.join(" ")} failed`);
    process.exit(result.status ?? 1);
  }
}

wrangler(["d1", "migrations", "apply", "DB", "--local", ...persist]);

const at = new Date().toISOString().replace("Z", "000Z");
const hash = createHash("sha256").update(apiKey).digest("hex");
const quote = (s) => `'${String(s).replace(/'/g, "''")}'`;
const seed = `
INSERT OR IGNORE INTO accounts (id, name, plan, balance, message_cost, created_at, updated_at)
  VALUES (${quote(DEV_ACCOUNT_ID)}, 'Development', 'pro', 100000, 10, ${quote(at)}, ${quote(at)});
INSERT INTO api_keys (id, account_id, name, prefix, hash, created_at)
  SELECT ${quote(crypto.randomUUID())}, ${quote(DEV_ACCOUNT_ID)}, 'development', ${quote(apiKey.slice(0, 12))}, ${quote(hash)}, ${quote(at)}
  WHERE NOT EXISTS (SELECT 1 FROM api_keys WHERE hash = ${quote(hash)});
UPDATE api_keys SET revoked_at = NULL WHERE hash = ${quote(hash)};
`;
const seedFile = join(tmpdir(), `wa-gateway-dev-seed-${process.pid}.sql`);
writeFileSync(seedFile, seed);
wrangler(["d1", "execute", "DB", "--local", ...persist, "--file", seedFile], { stdio: ["ignore", "ignore", "inherit"] });

const base = `http://localhost:${port}`;
const banner = `
  WhatsApp gateway (local)
  Dashboard    : ${base}/   (sign in with the API key below)
  API base URL : ${base}/v1
  API docs     : ${base}/docs   (OpenAPI: ${base}/openapi.json)
  API key      : ${apiKey}
  Admin token  : ${adminToken}

  Try: curl -H "Authorization: Bearer ${apiKey}" ${base}/v1/account
`;

const child = spawn(
  "npx",
  [
    "wrangler",
    "dev",
    ...persist,
    "--port",
    port,
    "--var",
    `ADMIN_TOKEN:${adminToken}`,
    // Local receivers and media servers are the point of local development.
    "--var",
    "ALLOW_PRIVATE_WEBHOOK_HOSTS:on",
    "--var",
    "ALLOW_PRIVATE_MEDIA_HOSTS:on",
    "--show-interactive-dev-session=false",
  ],
  { stdio: ["inherit", "pipe", "inherit"] },
);
// Print the banner once wrangler is listening, so it is not lost above its output.
let shown = false;
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  if (!shown && /Ready on/.test(chunk.toString())) {
    shown = true;
    console.log(banner);
  }
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
