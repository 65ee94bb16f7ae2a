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
          bindings: {
            TEST_MIGRATIONS: migrations,
            ADMIN_TOKEN: "test-admin-token",
          },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/apply-migrations.ts"],
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
