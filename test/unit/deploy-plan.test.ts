import { describe, expect, it } from "vitest";
import {
  FRESH_ACCOUNT,
  SECRETS_FILE,
  deployedUrls,
  firstAccountCommand,
  parseDatabaseNames,
  parseSecretNames,
  planDeploy,
  queueExists,
  resourcesOf,
  shellLine,
} from "../../scripts/deploy-plan.mjs";

// The parts of wrangler.toml the plan reads, in the shape wrangler's config reader returns.
const config = {
  name: "wa-gateway",
  d1_databases: [{ binding: "DB", database_name: "wa-gateway", migrations_dir: "migrations" }],
  queues: {
    producers: [
      { binding: "SEND_QUEUE", queue: "wa-send" },
      { binding: "WEBHOOK_QUEUE", queue: "wa-webhooks" },
    ],
    consumers: [
      { queue: "wa-send", dead_letter_queue: "wa-send-dlq" },
      { queue: "wa-webhooks", dead_letter_queue: "wa-webhooks-dlq" },
      { queue: "wa-send-dlq" },
      { queue: "wa-webhooks-dlq" },
    ],
  },
};
const resources = resourcesOf(config);
const ALL_QUEUES = ["wa-send", "wa-webhooks", "wa-send-dlq", "wa-webhooks-dlq"];
const lines = (steps: { command: string[] }[]) => steps.map((s) => shellLine(s.command));

describe("deploy plan", () => {
  it("reads the Worker, the D1 binding and every queue, dead-letter queues once each", () => {
    expect(resources).toEqual({ worker: "wa-gateway", database: { binding: "DB", name: "wa-gateway" }, queues: ALL_QUEUES });
    expect(() => resourcesOf({ ...config, d1_databases: [{ binding: "DB" }] })).toThrow(/database_name/);
  });

  it("takes a fresh account to a gateway: queues, deploy (provisions D1, sets the token), then migrations", () => {
    const { steps, setAdminToken } = planDeploy(resources, FRESH_ACCOUNT);
    expect(setAdminToken).toBe(true);
    expect(lines(steps)).toEqual([
      "npm run build:assets",
      "npx wrangler queues create wa-send",
      "npx wrangler queues create wa-webhooks",
      "npx wrangler queues create wa-send-dlq",
      "npx wrangler queues create wa-webhooks-dlq",
      `npx wrangler deploy --secrets-file ${SECRETS_FILE}`,
      "npx wrangler d1 migrations apply DB --remote",
    ]);
    expect(steps.filter((s) => s.local).map((s) => s.command[2])).toEqual(["build:assets"]);
  });

  it("reuses everything on a second run: no creation, migrations before the deploy, the token kept", () => {
    const { steps, setAdminToken } = planDeploy(resources, { databaseExists: true, queues: ALL_QUEUES, secrets: ["ADMIN_TOKEN"] });
    expect(setAdminToken).toBe(false);
    expect(lines(steps)).toEqual(["npm run build:assets", "npx wrangler d1 migrations apply DB --remote", "npx wrangler deploy"]);
  });

  it("creates only what is missing", () => {
    const { steps, setAdminToken } = planDeploy(resources, {
      databaseExists: true,
      queues: ["wa-send", "wa-webhooks", "wa-send-dlq"],
      secrets: ["OTHER"],
    });
    expect(setAdminToken).toBe(true);
    expect(lines(steps)).toEqual([
      "npm run build:assets",
      "npx wrangler queues create wa-webhooks-dlq",
      "npx wrangler d1 migrations apply DB --remote",
      `npx wrangler deploy --secrets-file ${SECRETS_FILE}`,
    ]);
  });

  it("makes up no token where no terminal can show it: deploys without one and says so", () => {
    const { steps, setAdminToken, adminTokenMissing } = planDeploy(resources, FRESH_ACCOUNT, { canMakeToken: false });
    expect(setAdminToken).toBe(false);
    expect(adminTokenMissing).toBe(true);
    expect(lines(steps)).toContain("npx wrangler deploy");
    const kept = planDeploy(resources, { databaseExists: true, queues: ALL_QUEUES, secrets: ["ADMIN_TOKEN"] }, { canMakeToken: false });
    expect(kept.adminTokenMissing).toBe(false);
  });

  it("sets the admin token again when ADMIN_TOKEN is given, even if the secret exists", () => {
    const { steps, setAdminToken } = planDeploy(resources, { databaseExists: true, queues: ALL_QUEUES, secrets: ["ADMIN_TOKEN"] }, { adminTokenGiven: true });
    expect(setAdminToken).toBe(true);
    expect(lines(steps).at(-1)).toBe(`npx wrangler deploy --secrets-file ${SECRETS_FILE}`);
  });
});

describe("reading wrangler's answers", () => {
  it("tells an existing queue from a missing one, and a failure from both", () => {
    expect(queueExists(0, "Queue Name: wa-send\nQueue ID: 1234")).toBe(true);
    expect(queueExists(1, '✘ [ERROR] Queue "wa-send-dlq" does not exist. To create it, run: wrangler queues create wa-send-dlq')).toBe(false);
    expect(() => queueExists(1, "✘ [ERROR] Authentication error [code: 10000]")).toThrow(/Authentication error/);
  });

  it("lists the Worker's secrets, none before the Worker exists", () => {
    expect(parseSecretNames(0, '[{"name":"ADMIN_TOKEN","type":"secret_text"}]')).toEqual(["ADMIN_TOKEN"]);
    expect(parseSecretNames(1, "✘ [ERROR] This Worker does not exist on your account. [code: 10007]")).toEqual([]);
    expect(() => parseSecretNames(1, "✘ [ERROR] Authentication error [code: 10000]")).toThrow(/Authentication error/);
  });

  it("reads database names from d1 list --json", () => {
    expect(parseDatabaseNames('[{"uuid":"a1","name":"wa-gateway"},{"uuid":"b2","name":"other"}]')).toEqual(["wa-gateway", "other"]);
    expect(parseDatabaseNames("[]")).toEqual([]);
  });

  it("finds the deployed URL in wrangler's output file", () => {
    const ndjson = [
      '{"type":"wrangler-session","version":1,"wrangler_version":"4.156.0"}',
      '{"type":"deploy","version":1,"worker_name":"wa-gateway","targets":["https://wa-gateway.acme.workers.dev"]}',
      "",
    ].join("\n");
    expect(deployedUrls(ndjson)).toEqual(["https://wa-gateway.acme.workers.dev"]);
    expect(deployedUrls('{"type":"deploy","targets":["wa-gateway.acme.workers.dev"]}')).toEqual(["https://wa-gateway.acme.workers.dev"]);
  });

  it("prints the first account's command against the deployed URL", () => {
    const command = firstAccountCommand("https://wa-gateway.acme.workers.dev/");
    expect(command).toContain("curl -X POST https://wa-gateway.acme.workers.dev/v1/admin/accounts");
    expect(command).toContain('-H "Authorization: Bearer $ADMIN_TOKEN"');
  });

  it("quotes shell arguments only when needed", () => {
    expect(shellLine(["npx", "wrangler", "deploy"])).toBe("npx wrangler deploy");
    expect(shellLine(["echo", "it's here"])).toBe(`echo 'it'\\''s here'`);
  });
});
