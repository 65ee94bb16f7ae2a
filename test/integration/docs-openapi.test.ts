import type { ZodType } from "zod";
import { describe, expect, it } from "vitest";
import { api } from "../../src/api/router";
import { call } from "../helpers/api";

// The reference at /docs is only as good as /openapi.json: every operation says what it does,
// and every JSON body comes with an example a client can send as it is.

interface MediaType {
  schema?: Record<string, any>;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}
interface Operation {
  summary?: string;
  requestBody?: { content?: Record<string, MediaType> };
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Record<string, any>> };
}

async function openApi(): Promise<Document> {
  const res = await call("GET", "/openapi.json");
  expect(res.status).toBe(200);
  return res.json as Document;
}

function operations(doc: Document): { name: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
  );
}

/** The body's example: on the media type, else on its schema (a $ref followed to the component). */
function bodyExample(doc: Document, media: MediaType): { found: boolean; value?: unknown } {
  if (media.example !== undefined) return { found: true, value: media.example };
  const first = Object.values(media.examples ?? {})[0];
  if (first?.value !== undefined) return { found: true, value: first.value };
  let schema = media.schema;
  while (schema?.$ref) schema = doc.components?.schemas?.[String(schema.$ref).split("/").pop()!];
  if (schema?.example !== undefined) return { found: true, value: schema.example };
  if (Array.isArray(schema?.examples) && schema.examples.length > 0) return { found: true, value: schema.examples[0] };
  return { found: false };
}

/** The zod schema each route validates its JSON body with, by "METHOD /path". */
function bodySchemas(): Map<string, ZodType> {
  const schemas = new Map<string, ZodType>();
  for (const def of api.registry.definitions) {
    if (def.type !== "route") continue;
    const media = def.route.request?.body?.content["application/json"];
    const schema = media && "schema" in media ? media.schema : undefined;
    if (schema) schemas.set(`${def.route.method.toUpperCase()} ${def.route.path}`, schema as ZodType);
  }
  return schemas;
}

describe("OpenAPI document", () => {
  it("gives every operation a summary", async () => {
    const doc = await openApi();
    const all = operations(doc);
    expect(all.length).toBeGreaterThan(50);
    expect(all.filter(({ op }) => !op.summary?.trim()).map(({ name }) => name)).toEqual([]);
  });

  it("gives every JSON request body an example", async () => {
    const doc = await openApi();
    const bodies = operations(doc).filter(({ op }) => op.requestBody?.content?.["application/json"]);
    expect(bodies.length).toBeGreaterThan(20);
    const missing = bodies.filter(({ op }) => !bodyExample(doc, op.requestBody!.content!["application/json"]!).found).map(({ name }) => name);
    expect(missing).toEqual([]);
  });

  it("has request examples that the route itself accepts", async () => {
    const doc = await openApi();
    const schemas = bodySchemas();
    const rejected: { name: string; issues: unknown }[] = [];
    let checked = 0;
    for (const { name, op } of operations(doc)) {
      const media = op.requestBody?.content?.["application/json"];
      if (!media) continue;
      const example = bodyExample(doc, media);
      if (!example.found) continue; // reported by the test above
      const schema = schemas.get(name);
      expect(schema, name).toBeDefined();
      checked++;
      const result = schema!.safeParse(example.value);
      if (!result.success) rejected.push({ name, issues: result.error.issues });
    }
    expect(checked).toBeGreaterThan(0);
    expect(rejected).toEqual([]);
  });
});
