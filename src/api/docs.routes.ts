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

// The docs page renders /openapi.json in the browser; nothing is bundled for it.
const DOCS_HTML = `<!doctype html>
<html>
  <head>
    <title>WhatsApp Gateway API</title>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json"></script>
    <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@1"></script>
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
