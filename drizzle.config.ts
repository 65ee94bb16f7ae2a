import { defineConfig } from "drizzle-kit";

// drizzle-kit is the only author of migrations/; review every generated file (runtime-notes).
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
