import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { unstable_readConfig } from "wrangler";
import { defineConfig } from "vitest/config";

// The plugin ignores wrangler.toml [alias]; read that table so tests and deploys
// share one list of module substitutions.
const wranglerConfig = unstable_readConfig({ config: "wrangler.toml" });
const alias = Object.fromEntries(
  Object.entries(wranglerConfig.alias ?? {}).map(([from, to]) => [from, path.resolve(String(to))]),
);

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.resolve("migrations"));
  return {
    resolve: { alias },
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // A second, empty database for the migration tests, so they never touch DB.
          d1Databases: { MIGRATION_TEST_DB: "migration-test" },
          bindings: {
            TEST_MIGRATIONS: migrations,
            ADMIN_TOKEN: "test-admin-token",
            // Expected disconnects (515 after pairing, injected faults) are logged at error level.
            BAILEYS_LOG_LEVEL: "fatal",
            // Non-sandbox sessions connect here, a closed port: tests never reach WhatsApp.
            WHATSAPP_WS_URL: "ws://127.0.0.1:1/ws/chat",
            // Webhooks: the test receiver listens on 127.0.0.1; retries come at once.
            ALLOW_PRIVATE_WEBHOOK_HOSTS: "on",
            WEBHOOK_RETRY_SCALE: "0",
            // Messages: the media fixture server listens on 127.0.0.1.
            ALLOW_PRIVATE_MEDIA_HOSTS: "on",
          },
          // Webhook deliveries: 4 attempts instead of 21 before the dead-letter queue, so the
          // DLQ path runs in seconds (delays are scaled to 0 above). Other settings as wrangler.toml.
          queueConsumers: {
            "wa-webhooks": { maxBatchSize: 20, maxBatchTimeout: 1, maxRetries: 3, deadLetterQueue: "wa-webhooks-dlq" },
          },
        },
      }),
    ],
    test: {
      // Each test file in a fresh isolate re-sends every loaded module to workerd, and with
      // Baileys' large modules that message passes workerd's 1 MiB WebSocket limit and kills
      // the runner. Reusing isolates avoids it; every file still migrates and uses its own ids.
      isolate: false,
      setupFiles: ["./test/apply-migrations.ts", "./test/end-sessions.ts"],
      // Node-side helpers the workerd tests reach over HTTP (list; others may add theirs).
      globalSetup: ["./test/global-setup/webhook-receiver.ts", "./test/global-setup/media-server.ts"],
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
