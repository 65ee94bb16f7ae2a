// What `npm run deploy` runs, worked out from what the Cloudflare account already has. Pure: no
// I/O here (scripts/deploy.mjs asks wrangler and runs the plan; test/unit/deploy-plan.test.ts).

/** Stands in for the temporary file that carries the admin token to `wrangler deploy`. */
export const SECRETS_FILE = "<secrets-file>";
export const ADMIN_SECRET = "ADMIN_TOKEN";

/** What wrangler.toml asks for: the Worker, its D1 binding and every queue (dead-letter ones too). */
export function resourcesOf(config) {
  const db = config.d1_databases?.[0];
  if (!db?.binding || !db.database_name) throw new Error("wrangler.toml needs a [[d1_databases]] binding with a database_name.");
  const queues = new Set();
  for (const producer of config.queues?.producers ?? []) queues.add(producer.queue);
  for (const consumer of config.queues?.consumers ?? []) {
    queues.add(consumer.queue);
    if (consumer.dead_letter_queue) queues.add(consumer.dead_letter_queue);
  }
  return { worker: config.name, database: { binding: db.binding, name: db.database_name }, queues: [...queues] };
}

/** The read-only commands that find out what exists (run before planning; listed by --dry-run). */
export function probes(resources) {
  return [
    ["npx", "wrangler", "whoami", "--json"],
    ["npx", "wrangler", "d1", "list", "--json"],
    ...resources.queues.map((queue) => ["npx", "wrangler", "queues", "info", queue]),
    ["npx", "wrangler", "secret", "list", "--format", "json"],
  ];
}

/** A fresh account: what --dry-run plans for, since it asks Cloudflare nothing. */
export const FRESH_ACCOUNT = { databaseExists: false, queues: [], secrets: [] };

/**
 * The steps, in order, for `state` = { databaseExists, queues: names that exist, secrets: the
 * Worker's secret names (none when the Worker does not exist) }. `adminTokenGiven`: ADMIN_TOKEN is
 * in the environment (set it even when the secret exists); `canMakeToken`: a terminal can prompt
 * for one or show a generated one (elsewhere, e.g. CI logs, none is made up). A second run against
 * what the first made plans no creation and keeps the admin token.
 */
export function planDeploy(resources, state, { adminTokenGiven = false, canMakeToken = true } = {}) {
  const steps = [
    {
      command: ["npm", "run", "build:assets"],
      why: "build the dashboard and the docs' script into public/ (the Worker's static assets)",
      local: true,
    },
  ];
  for (const queue of resources.queues) {
    if (!state.queues.includes(queue)) steps.push({ command: ["npx", "wrangler", "queues", "create", queue], why: `queue ${queue} does not exist` });
  }
  const hasSecret = state.secrets.includes(ADMIN_SECRET);
  const setAdminToken = adminTokenGiven || (!hasSecret && canMakeToken);
  const deploy = {
    command: ["npx", "wrangler", "deploy", ...(setAdminToken ? ["--secrets-file", SECRETS_FILE] : [])],
    why:
      (state.databaseExists ? "upload the Worker" : `upload the Worker; wrangler creates the D1 database "${resources.database.name}" (automatic provisioning)`) +
      (setAdminToken ? `, with the ${ADMIN_SECRET} secret` : hasSecret ? `; the ${ADMIN_SECRET} secret is kept` : `, without ${ADMIN_SECRET} (admin API off until it is set)`),
  };
  const migrate = {
    command: ["npx", "wrangler", "d1", "migrations", "apply", resources.database.binding, "--remote"],
    why: "apply the migrations not yet applied to the remote database",
  };
  // Migrations go first when the database exists, so new code never meets an old schema; on the
  // first run the database only exists once the deploy has provisioned it.
  steps.push(...(state.databaseExists ? [migrate, deploy] : [deploy, migrate]));
  return { steps, setAdminToken, adminTokenMissing: !setAdminToken && !hasSecret };
}

/** Names in `wrangler d1 list --json`. */
export function parseDatabaseNames(output) {
  const start = output.indexOf("[");
  if (start < 0) throw new Error(`Unexpected output from wrangler d1 list --json: ${output.slice(0, 200)}`);
  return JSON.parse(output.slice(start)).map((db) => db.name);
}

/** Whether `wrangler queues info <name>` found the queue: true, false, or throws on other failures. */
export function queueExists(status, output) {
  if (status === 0) return true;
  if (/does not exist/i.test(output)) return false;
  throw new Error(`wrangler queues info failed: ${output.trim().slice(0, 300)}`);
}

/** Secret names in `wrangler secret list --format json`; none when the Worker does not exist yet. */
export function parseSecretNames(status, output) {
  if (status !== 0) {
    if (/does not exist|not found|10007/i.test(output)) return [];
    throw new Error(`wrangler secret list failed: ${output.trim().slice(0, 300)}`);
  }
  const start = output.indexOf("[");
  return start < 0 ? [] : JSON.parse(output.slice(start)).map((secret) => secret.name);
}

/** The Worker's URLs, from the ND-JSON file wrangler writes to WRANGLER_OUTPUT_FILE_PATH. */
export function deployedUrls(ndjson) {
  const urls = [];
  for (const line of ndjson.split("\n")) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line);
    if (entry.type === "deploy") urls.push(...(entry.targets ?? []));
  }
  return urls.map((url) => (/^https?:\/\//.test(url) ? url : `https://${url}`));
}

/** The command that creates the first account and its API key. */
export function firstAccountCommand(baseUrl) {
  return [
    `curl -X POST ${baseUrl.replace(/\/$/, "")}/v1/admin/accounts \\`,
    `  -H "Authorization: Bearer $ADMIN_TOKEN" -H "Content-Type: application/json" \\`,
    `  -d '{"name": "My company", "plan": "pro", "balance": 100000}'`,
  ].join("\n");
}

/** A command as a shell line, for the plan and the log. */
export function shellLine(command) {
  return command.map((arg) => (/^[\w@%+=:,./<>-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`)).join(" ");
}
