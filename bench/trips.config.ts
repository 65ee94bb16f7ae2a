import { defineConfig, mergeConfig } from "vitest/config";
import base from "../vitest.config";

// The bench's instrumented run (bench/trips.mjs): the project's test setup (workerd, bindings,
// migrations, helpers' global setups), but only bench/trips/*.trips.ts, which `npm test` (its
// default *.test.ts include) never picks up.
export default defineConfig(async (configEnv) => {
  const resolved = typeof base === "function" ? await base(configEnv) : await base;
  return mergeConfig(resolved, {
    test: {
      include: ["bench/trips/*.trips.ts"],
      // The figures' lines and warnings; not libsignal's session dumps.
      onConsoleLog: (log: string, type: "stdout" | "stderr") => (type === "stderr" || log.startsWith("TRIPS_JSON") ? undefined : false),
    },
  });
});
