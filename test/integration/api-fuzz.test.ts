// Property-based fuzzing of every route in /openapi.json (issue 9): path parameters from real
// ids of the calling account, of another account and junk; query and body from arbitraries
// (wrong types, huge, deep, empty, prototype keys, odd strings, odd Content-Types). For every
// request: never a 5xx; a 4xx is the error envelope and stores nothing (balance, messages,
// sessions, webhooks, keys and idempotency rows of both accounts unchanged); Object.prototype
// is unchanged at the end. The seed is fixed; VITE_FUZZ_SEED=<n> npx vitest run … tries another
// (or replays the one a failure printed).
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { ADMIN_TOKEN, call, createAccount, type TestAccount } from "../helpers/api";

const RUNS_PER_ROUTE = 10;
const SEED = Number((import.meta as ImportMeta & { env?: Record<string, string | undefined> }).env?.VITE_FUZZ_SEED ?? 20_261_130);
const PROTO_BEFORE = Object.getOwnPropertyNames(Object.prototype).sort();

interface Operation {
  method: string;
  path: string;
  auth: "account" | "admin" | "none";
  pathParams: string[];
  queryParams: string[];
  bodyProps: string[] | null;
}

let me: TestAccount;
let other: TestAccount;
let operations: Operation[] = [];
const seen: Record<string, number[]> = {};
const ids = { mine: [] as string[], theirs: [] as string[] };

/** What a rejected request must not change, for one account. */
async function accountState(accountId: string) {
  return database(env).get<Record<string, number>>(sql`
    SELECT (SELECT balance FROM accounts WHERE id = ${accountId}) AS balance,
           (SELECT count(*) FROM messages WHERE account_id = ${accountId}) AS messages,
           (SELECT count(*) FROM sessions WHERE account_id = ${accountId}) AS sessions,
           (SELECT count(*) FROM webhooks WHERE account_id = ${accountId}) AS webhooks,
           (SELECT count(*) FROM api_keys WHERE account_id = ${accountId}) AS keys,
           (SELECT count(*) FROM idempotency_keys WHERE account_id = ${accountId}) AS idempotency_keys,
           (SELECT count(*) FROM idempotency_keys WHERE account_id = ${accountId} AND status_code = 0) AS idempotency_reservations`);
}

/** Both accounts: the fuzzer calls as `me` but feeds `other`'s ids to every route. */
async function state() {
  return { me: await accountState(me.id), other: await accountState(other.id) };
}

async function fixtures(account: TestAccount): Promise<string[]> {
  const session = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true, name: "fuzz" } });
  const hook = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: "https://example.com/fuzz", enabled: false } });
  const phone = await call("POST", "/v1/sandbox/phones", { key: account.key, body: { name: "Fuzz" } });
  for (const res of [session, hook, phone]) if (res.status !== 201) throw new Error(`fixture: ${res.status} ${res.text}`);
  return [session.json.session.id, session.json.session.session_id, hook.json.webhook.id, account.keyId, phone.json.phone.phone_number];
}

beforeAll(async () => {
  me = await createAccount({ balance: 1000, message_cost: 1, plan: "pro" });
  other = await createAccount({ balance: 1000, message_cost: 1, plan: "pro" });
  ids.mine = await fixtures(me);
  ids.theirs = await fixtures(other);
  const doc = (await call("GET", "/openapi.json")).json;
  const schemas = doc.components?.schemas ?? {};
  const resolve = (s: any) => (s?.$ref ? schemas[s.$ref.split("/").pop()] : s);
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const params: any[] = op.parameters ?? [];
      const body = resolve(op.requestBody?.content?.["application/json"]?.schema);
      const props = body ? Object.keys(body.properties ?? {}).concat(...(body.allOf ?? body.anyOf ?? body.oneOf ?? []).map((s: any) => Object.keys(resolve(s)?.properties ?? {}))) : null;
      operations.push({
        method: method.toUpperCase(),
        path,
        auth: path.startsWith("/v1/admin") ? "admin" : (op.security ?? []).length ? "account" : "none",
        pathParams: params.filter((p) => p.in === "path").map((p) => p.name),
        queryParams: params.filter((p) => p.in === "query").map((p) => p.name),
        bodyProps: props ? [...new Set(props)] : null,
      });
    }
  }
}, 60_000);

afterAll(() => {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_BEFORE);
});

// ---- arbitraries ----

const BIG = "x".repeat(1024 * 1024 + 10);
const oddString = fc.oneof(
  fc.constantFrom("", " ", "\u0000", "\ud800", "\udc00x", "\u001b[2J", "𝕏🙂", "0x10", "-1", "1e309", "NaN", "Infinity", "9999-12-31T23:59:59.999-23:59",
    "__proto__", "constructor", "prototype", "../../etc/passwd", "%00", "%E0%A4%A", "+15550001001", "null", "true", "[]", "{}", "<x/>", "a".repeat(5000)),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ maxLength: 30 }),
);
const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  oddString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(oddString, { maxLength: 3 }),
  fc.constant(Array.from({ length: 300 }, (_, i) => `1555${i}`)),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A path parameter: one of my ids, one of theirs, or junk. Destructive routes never get mine. */
const pathValue = (destructive: boolean) =>
  fc.oneof(
    ...(destructive ? [] : [{ weight: 3, arbitrary: fc.constantFrom(...ids.mine) }]),
    fc.constantFrom(...ids.theirs),
    fc.uuid(),
    fc.constantFrom("%2B15550001001", "%E0%A4%A", "%00", "__proto__", "constructor", "..%2F..", "a".repeat(300), "%F0%9F%99%82", "120363000000000001%40g.us"),
    fc.stringMatching(/^[A-Za-z0-9._~-]{1,40}$/),
  );

const manyFilters = Array.from({ length: 300 }, (_, i) => `filter[to_number][]=1555000${String(i).padStart(4, "0")}`).join("&");
const queryString = (names: string[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant("") },
    { weight: 1, arbitrary: fc.constant(manyFilters) },
    { weight: 5, arbitrary: fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...names, "filter[to_number][]", "filter[status]", "__proto__[callback_url]", "constructor[prototype][x]", "a[b][c][d][e][f][g]", "limit"), fc.string({ maxLength: 10 })),
        oddString,
      ),
      { maxLength: 5 },
    )
    .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k).replace(/%5B/g, "[").replace(/%5D/g, "]")}=${encodeURIComponent(v.replace(/[\ud800-\udfff]/g, "\ufffd"))}`).join("&")) },
  );

const bodyText = (props: string[]) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.dictionary(fc.constantFrom(...(props.length ? props : ["x"])), wrongValue, { maxKeys: 3 }).map((o) => JSON.stringify(o)) },
    fc.dictionary(fc.oneof(fc.constantFrom(...(props.length ? props : ["x"])), fc.string({ maxLength: 8 })), wrongValue, { maxKeys: 5 }).map((o) => JSON.stringify(o)),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc.constantFrom(
      "",
      "{",
      "null",
      "[]",
      '{"__proto__":{"callback_url":"http://attacker.invalid/x"}}',
      '{"a":{"constructor":{"prototype":{"x":1}}}}',
      `{"x":${deep(10_000)}}`,
      `{"x":${deep(40)}}`,
      JSON.stringify({ name: BIG }),
      '{"name":"\\ud800"}',
    ),
  );

const contentType = fc.constantFrom<string | null>("application/json", "application/json", "application/json", "text/plain", "application/xml", "application/x-www-form-urlencoded", null, "application/json; charset=utf-16");

/** A session the fuzzer creates links to the sandbox: a real one would dial WhatsApp for nothing. */
function sandboxOnly(body: string): string {
  if (!body.trim()) return '{"sandbox":true}'; // an empty body would create a real session
  try {
    const value = JSON.parse(body);
    if (value && typeof value === "object" && !Array.isArray(value)) return JSON.stringify({ ...value, sandbox: true });
  } catch {
    // not JSON: sent as it is
  }
  return body;
}

// ---- the property ----

// Routes that would change the fixtures when they succeed: driven with others' ids and junk only.
const DESTRUCTIVE = /^(DELETE |PATCH \/v1\/whatsapp\/sessions\/\{id\}\/(disconnect|reconnect)|POST \/v1\/whatsapp\/sessions\/\{id\}\/logout|POST \/v1\/sandbox\/sessions\/\{id\}\/faults)/;

function drive(op: Operation, path: string, query: string, body: string | null, type: string | null, method = op.method, idem: string | null = null) {
  const headers: Record<string, string> = {};
  if (idem) headers["Idempotency-Key"] = idem;
  if (type) headers["Content-Type"] = type;
  const key = op.auth === "account" ? me.key : op.auth === "admin" ? ADMIN_TOKEN : undefined;
  const withBody = body !== null && method !== "GET" && method !== "HEAD";
  // Below 400 only the status counts (an SSE stream or a PNG is dropped unread).
  return call(method, `${path}${query ? `?${query}` : ""}`, { key, headers, rawBody: withBody ? body : undefined, discardOk: true });
}

function expectEnvelope(res: { status: number; json: any; text: string }, label: string) {
  expect(res.status, `${label} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
  expect(res.json, `${label} → ${res.text.slice(0, 300)}`).toMatchObject({ success: false, error: { code: expect.any(String), message: expect.any(String) } });
  expect(res.json.error.details, label).not.toBeNull();
  expect(typeof res.json.error.details, label).toBe("object");
}

describe("fuzzing every route of /openapi.json", () => {
  it("finds every route in the document", () => {
    expect(operations.length).toBeGreaterThan(40);
  });

  it("never answers 5xx, always the envelope on 4xx, and a rejected request stores nothing", { timeout: 120_000 }, async () => {
    for (const op of operations) {
      const destructive = DESTRUCTIVE.test(`${op.method} ${op.path}`);
      const arb = fc.record({
        params: fc.tuple(...op.pathParams.map(() => pathValue(destructive))),
        query: queryString(op.queryParams),
        body: op.method === "GET" ? fc.constant(null) : op.path === "/v1/whatsapp/sessions" ? bodyText(op.bodyProps ?? []).map(sandboxOnly) : bodyText(op.bodyProps ?? []),
        type: contentType,
        idem: fc.option(fc.oneof(fc.uuid(), fc.constantFrom("same-key", " bad key", "x".repeat(300))), { freq: 2 }),
      });
      await fc.assert(
        fc.asyncProperty(arb, async ({ params, query, body, type, idem }) => {
          let path = op.path;
          op.pathParams.forEach((name, i) => (path = path.replace(`{${name}}`, (params as string[])[i])));
          const before = await state();
          const res = await drive(op, path, query, body, type, op.method, idem);
          (seen[`${op.method} ${op.path}`] ??= []).push(res.status);
          const label = `${op.method} ${path}?${query.slice(0, 200)} [${type}] ${String(body).slice(0, 200)}`;
          if (res.status >= 400) {
            expectEnvelope(res, label);
            expect(await state(), label).toEqual(before);
          }
          expect(res.status, label).toBeLessThan(500);
        }),
        { numRuns: RUNS_PER_ROUTE, endOnFailure: true, seed: SEED },
      ).catch((error: unknown) => {
        throw new Error(`${op.method} ${op.path} failed with VITE_FUZZ_SEED=${SEED} (rerun with it to replay):\n${error instanceof Error ? error.message : String(error)}`, { cause: error });
      });
      // And an unknown method on the same path: 405 in the envelope.
      const res = await drive(op, op.path.replace(/\{\w+\}/g, "x"), "", null, null, "PROPFIND");
      expect(res.status, `PROPFIND ${op.path}`).toBe(405);
      expectEnvelope(res, `PROPFIND ${op.path}`);
      expect(res.headers.get("Allow")?.split(", "), `PROPFIND ${op.path}`).toContain(op.method);
      expect(res.json.error.details.allow, `PROPFIND ${op.path}`).toContain(op.method);
    }
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_BEFORE);
    // Every route was driven the full number of runs.
    expect(Object.keys(seen).sort()).toEqual(operations.map((op) => `${op.method} ${op.path}`).sort());
    for (const statuses of Object.values(seen)) expect(statuses).toHaveLength(RUNS_PER_ROUTE);
  });
});
