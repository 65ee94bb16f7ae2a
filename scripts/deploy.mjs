#!/usr/bin/env node
// `npm run deploy`: a Cloudflare account to a working gateway, idempotently. Finds out what exists
// (queues, the D1 database, the admin secret), creates what is missing, applies the remote
// migrations, deploys, then prints the URL and the command that creates the first account.
// `npm run deploy -- --dry-run` prints the plan for a fresh account, asks Cloudflare nothing, and
// ends with `wrangler deploy --dry-run` (a full local build and check).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline/promises";
import { unstable_readConfig } from "wrangler";
import {
  ADMIN_SECRET,
  FRESH_ACCOUNT,
  SECRETS_FILE,
  deployedUrls,
  firstAccountCommand,
  parseDatabaseNames,
  parseSecretNames,
  planDeploy,
  probes,
  queueExists,
  resourcesOf,
  shellLine,
} from "./deploy-plan.mjs";

const dryRun = process.argv.includes("--dry-run");
const resources = resourcesOf(unstable_readConfig({ config: "wrangler.toml" }));
const childEnv = { ...process.env };
// Questions only to a terminal; and a generated token is shown once, so never into CI or build logs.
const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);

class StepFailed extends Error {}

/** Runs a command in the terminal (prompts reach the user); throws StepFailed when it fails. */
function run(command, env = childEnv) {
  console.log(`\n$ ${shellLine(command)}`);
  const result = spawnSync(command[0], command.slice(1), { stdio: "inherit", env });
  if (result.status !== 0) throw new StepFailed(`\`${shellLine(command)}\` failed (exit ${result.status ?? result.signal})`);
}

/** run(), ending the script on failure (where there is nothing to clean up). */
function mustRun(command, env) {
  try {
    run(command, env);
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    console.error(`deploy: ${error.message}`);
    process.exit(1);
  }
}

/** Runs a read-only wrangler command and returns what it printed. */
function ask(command) {
  const result = spawnSync(command[0], command.slice(1), { encoding: "utf8", env: { ...childEnv, CI: "true" } });
  return { status: result.status ?? 1, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

async function question(prompt) {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(prompt)).trim();
  } finally {
    rl.close();
  }
}

if (dryRun) {
  console.log("Dry run: nothing is created or changed on Cloudflare.\n\nWould find out what exists with:");
  for (const probe of probes(resources)) console.log(`  ${shellLine(probe)}`);
  const { steps } = planDeploy(resources, FRESH_ACCOUNT, { adminTokenGiven: Boolean(process.env.ADMIN_TOKEN) });
  console.log("\nPlan for a fresh account (a second run skips what exists and keeps the admin token):");
  steps.forEach((step, i) => console.log(`  ${i + 1}. ${shellLine(step.command)}\n       ${step.why}`));
  for (const step of steps.filter((s) => s.local)) mustRun(step.command);
  mustRun(["npx", "wrangler", "deploy", "--dry-run"]);
  process.exit(0);
}

// ---- Who: logged in, and which account ----
let whoami = ask(probes(resources)[0]);
if (whoami.status !== 0) {
  if (process.env.CLOUDFLARE_API_TOKEN) {
    console.error(`deploy: CLOUDFLARE_API_TOKEN is set but wrangler cannot use it:\n${whoami.output}`);
    process.exit(1);
  }
  mustRun(["npx", "wrangler", "login"]);
  whoami = ask(probes(resources)[0]);
  if (whoami.status !== 0) process.exit(1);
}
const accounts = JSON.parse(whoami.output.slice(whoami.output.indexOf("{"))).accounts ?? [];
if (!childEnv.CLOUDFLARE_ACCOUNT_ID && accounts.length > 1) {
  if (!interactive) {
    console.error("deploy: this login reaches several accounts; set CLOUDFLARE_ACCOUNT_ID to choose one.");
    process.exit(1);
  }
  accounts.forEach((a, i) => console.log(`  ${i + 1}. ${a.name} (${a.id})`));
  const choice = Number(await question("Deploy to which account? "));
  if (!accounts[choice - 1]) process.exit(1);
  childEnv.CLOUDFLARE_ACCOUNT_ID = accounts[choice - 1].id;
}

// ---- What exists ----
const d1 = ask(["npx", "wrangler", "d1", "list", "--json"]);
if (d1.status !== 0) throw new Error(`wrangler d1 list failed:\n${d1.output}`);
const state = {
  databaseExists: parseDatabaseNames(d1.output).includes(resources.database.name),
  queues: resources.queues.filter((queue) => {
    const info = ask(["npx", "wrangler", "queues", "info", queue]);
    return queueExists(info.status, info.output);
  }),
  secrets: (() => {
    const list = ask(["npx", "wrangler", "secret", "list", "--format", "json"]);
    return parseSecretNames(list.status, list.output);
  })(),
};
const { steps, setAdminToken, adminTokenMissing } = planDeploy(resources, state, {
  adminTokenGiven: Boolean(process.env.ADMIN_TOKEN),
  canMakeToken: interactive,
});

// ---- The admin token: from the environment, typed in, or generated (then printed once) ----
let adminToken = null;
let generated = false;
if (setAdminToken) {
  adminToken = process.env.ADMIN_TOKEN || (await question(`${ADMIN_SECRET} for /v1/admin (empty: generate one): `));
  if (!adminToken) {
    adminToken = randomBytes(24).toString("base64url");
    generated = true;
  }
}

console.log("\nPlan:");
steps.forEach((step, i) => console.log(`  ${i + 1}. ${shellLine(step.command)}\n       ${step.why}`));

const workDir = mkdtempSync(path.join(tmpdir(), "wa-gateway-deploy-"));
const outputFile = path.join(workDir, "wrangler-output.ndjson");
try {
  for (const step of steps) {
    let command = step.command;
    if (command.includes(SECRETS_FILE)) {
      const secretsFile = path.join(workDir, "secrets.json");
      writeFileSync(secretsFile, JSON.stringify({ [ADMIN_SECRET]: adminToken }), { mode: 0o600 });
      command = command.map((arg) => (arg === SECRETS_FILE ? secretsFile : arg));
    }
    const isDeploy = command[2] === "deploy";
    // Remote migrations ask for confirmation; the plan was shown, so CI mode answers it.
    const isMigrate = command.includes("migrations");
    run(command, { ...childEnv, ...(isDeploy ? { WRANGLER_OUTPUT_FILE_PATH: outputFile } : {}), ...(isMigrate ? { CI: "true" } : {}) });
  }
  let urls = [];
  try {
    urls = deployedUrls(readFileSync(outputFile, "utf8"));
  } catch {
    // No output file: the URL is in wrangler's own output above.
  }
  const base = urls[0] ?? `https://${resources.worker}.<your-subdomain>.workers.dev`;
  console.log(`\nThe gateway is deployed: ${base}\n  Dashboard: ${base}/\n  API docs:  ${base}/docs`);
  const token = generated
    ? `export ${ADMIN_SECRET}='${adminToken}'   # generated: shown this once, store it now`
    : setAdminToken
      ? `# with ${ADMIN_SECRET} set to the admin token you gave`
      : `# ${ADMIN_SECRET} is unchanged: the one set by your first deploy (ADMIN_TOKEN=... npm run deploy replaces it)`;
  if (adminTokenMissing) {
    console.log(`\nNo ${ADMIN_SECRET} is set, so the admin API is off: \`npx wrangler secret put ${ADMIN_SECRET}\` or \`ADMIN_TOKEN=... npm run deploy\` sets one.`);
  } else {
    console.log(`\nCreate the first account and its API key:\n\n${token}\n${firstAccountCommand(base)}\n`);
  }
} catch (error) {
  if (!(error instanceof StepFailed)) throw error;
  console.error(`deploy: ${error.message}; run \`npm run deploy\` again once it is fixed (what exists is reused).`);
  process.exitCode = 1;
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
