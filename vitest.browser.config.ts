import { defineConfig } from "vitest/config";

// Browser tests (`npm run test:browser`): Node drives Debian's Chromium against `npm run dev`.
// Files are *.e2e.ts so the workerd suite (`npm test`) never picks them up.
export default defineConfig({
  test: {
    include: ["test/browser/**/*.e2e.ts"],
    environment: "node",
    globalSetup: ["./test/browser/global-setup.ts"],
    // One gateway and two cores: files run one after another.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
