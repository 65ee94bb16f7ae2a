// /docs renders the whole OpenAPI reference with the network blocked: nothing may come from a CDN.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { launch, offlineContext, screenshot } from "./browser";

const baseUrl = inject("baseUrl");
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(() => browser?.close());

interface Operation {
  summary?: string;
  tags?: string[];
  requestBody?: { content: Record<string, { example?: unknown; schema?: { $ref?: string; example?: unknown } }> };
}

type Doc = { info: { title: string }; paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, { example?: unknown }> } };

// The request example an operation declares: on its media type, or on its (referenced) schema.
function requestExample(doc: Doc, op: Operation): unknown {
  const media = Object.values(op.requestBody?.content ?? {})[0];
  const ref = media?.schema?.$ref?.split("/").pop();
  return media?.example ?? media?.schema?.example ?? (ref ? doc.components?.schemas?.[ref]?.example : undefined);
}

const stringsIn = (value: unknown): string[] =>
  typeof value === "string" ? [value] : value && typeof value === "object" ? Object.values(value).flatMap(stringsIn) : [];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

test("/docs renders every operation offline and asks nothing of another origin", async () => {
  const doc = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as Doc;
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, example: requestExample(doc, op), ...op })),
  );
  expect(operations.filter((op) => !op.summary).map((op) => op.name)).toEqual([]);

  const { context, foreign } = await offlineContext(browser, baseUrl);
  try {
    await rendersOffline(await context.newPage(), doc.info.title, operations);
  } finally {
    // Checked even when rendering failed: a blocked CDN request is then the likely cause.
    expect(foreign).toEqual([]);
    await context.close();
  }
});

async function rendersOffline(page: Page, title: string, operations: (Operation & { name: string; example: unknown })[]) {
  await page.goto(`${baseUrl}/docs`);
  await page.getByRole("heading", { level: 1, name: title }).waitFor();

  // The sidebar lists each operation once its tag's group is open.
  const sidebar = page.getByRole("complementary");
  const tags = [...new Set(operations.flatMap((op) => op.tags ?? []))];
  for (const tag of tags) {
    const open = sidebar.getByRole("button", { name: `Open Group - ${tag}`, exact: true });
    if (await open.count()) await open.click();
    for (const op of operations.filter((o) => o.tags?.includes(tag))) {
      await sidebar.getByRole("link", { name: new RegExp(`^${escape(op.summary!)}`) }).first().waitFor();
    }
  }

  // An operation's own section renders with its request example.
  const send = operations.find((op) => op.name === "POST /v1/whatsapp/messages")!;
  expect(stringsIn(send.example)).not.toEqual([]);
  await sidebar.getByRole("link", { name: new RegExp(`^${escape(send.summary!)}`) }).first().click();
  const section = page.getByRole("region", { name: send.summary!, exact: true });
  await section.getByRole("heading", { name: send.summary!, exact: true }).waitFor();
  await section.getByText(/Request Example/).first().waitFor();
  // The example is the seed's own request, not one made up from the schema's types.
  const shown = await section.innerText();
  expect(stringsIn(send.example).filter((value) => !shown.includes(value))).toEqual([]);
  await screenshot(page, "docs-offline", false);
}
