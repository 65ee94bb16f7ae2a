import { OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import type { Api } from "./route";

// Only the top of the document is declared: its body is generated from the route schemas.
const OpenApiDocument = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

let cached: unknown;

export function openApiDocument(api: Api): unknown {
  cached ??= new OpenApiGeneratorV31(api.registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "WhatsApp Gateway API",
      version: "1.0.0",
      description:
        "Self-hosted WhatsApp API gateway on Cloudflare Workers. Authenticate with `Authorization: Bearer <API key>`. " +
        'Success responses are `{"success": true, ...}`; errors are `{"success": false, "error": {"code", "message", "details"}}`.',
    },
    servers: [{ url: "/" }],
  });
  return cached;
}

/** Where scripts/build-docs.mjs puts Scalar's standalone build among the static assets. */
export const DOCS_SCRIPT_PATH = "/docs/scalar.js";

// Scalar renders /openapi.json in the browser from a script the Worker serves as an asset, so the
// page works offline. Off: its CDN fonts (system fonts instead) and the parts that talk to
// Scalar's cloud (telemetry, the AI agent, MCP, the developer toolbar it shows on localhost).
const SCALAR_CONFIG = JSON.stringify({
  withDefaultFonts: false,
  telemetry: false,
  showDeveloperTools: "never",
  agent: { disabled: true },
  mcp: { disabled: true },
});
const DOCS_HTML = `<!doctype html>
<html lang="en">
  <head>
    <title>WhatsApp Gateway API</title>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json" data-configuration='${SCALAR_CONFIG}'></script>
    <script src="${DOCS_SCRIPT_PATH}"></script>
  </body>
</html>`;

export function registerDocsRoutes(api: Api): void {
  api.route({
    method: "get",
    path: "/openapi.json",
    summary: "This OpenAPI 3.1 document",
    tags: ["Meta"],
    auth: "none",
    responses: { 200: { description: "OpenAPI document", schema: OpenApiDocument } },
    handler: () => Response.json(openApiDocument(api)),
  });
  api.route({
    method: "get",
    path: "/docs",
    summary: "Interactive API reference",
    tags: ["Meta"],
    auth: "none",
    responses: { 200: { description: "HTML page", contentType: "text/html" } },
    handler: () => new Response(DOCS_HTML, { headers: { "Content-Type": "text/html; charset=utf-8" } }),
  });
}
