import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// Built into ../public, which wrangler.toml serves as the Worker's static assets.
// JSX goes through Vite's own oxc transform: no framework plugin needed for Preact.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../public", import.meta.url)),
    emptyOutDir: true,
    // Everything is served by the Worker: no CDN, no inline-size surprises.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
