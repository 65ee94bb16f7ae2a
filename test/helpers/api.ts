import { env, exports } from "cloudflare:workers";
import type { ZodType } from "zod";
import { api } from "../../src/api/router";
import { ErrorEnvelope } from "../../src/api/schemas";

export const ADMIN_TOKEN = "test-admin-token";
const BASE = "http://gateway.test";

export interface CallOptions {
  key?: string;
  /** Sent as JSON with `Content-Type: application/json`. */
  body?: unknown;
  /** Sent as it is (bytes, a stream, any text), with only the headers given. */
  rawBody?: BodyInit | null;
  headers?: Record<string, string>;
  /** Below 400, drop the body unread (an SSE stream never ends): only the status is returned. */
  discardOk?: boolean;
}

/** Calls the Worker's own fetch handler, the way a client would. */
export async function call(method: string, path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  if (options.key) headers.Authorization = `Bearer ${options.key}`;
  let body: BodyInit | null | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  const response = await exports.default.fetch(new Request(BASE + path, { method, headers, body }));
  if (options.discardOk && response.status < 400) {
    await response.body?.cancel();
    return { status: response.status, headers: response.headers, json: undefined as any, text: "" };
  }
  const result = await checkedJson(method, path, response);
  if (method === "POST" && path === "/v1/whatsapp/sessions" && result.status === 201 && result.json?.session?.id) opened.add(result.json.session.id);
  return result;
}

// Every test file runs in the same workerd (vitest.config.ts: isolate false), so a session a file
// links would keep its socket and reconnect loop going through every later file. Each file ends
// the sessions it created (test/end-sessions.ts).
const opened = new Set<string>();

/** Disconnects (keeping the link) every session created through `call` since the last time. */
export async function endOpenedSessions(): Promise<void> {
  const ids = [...opened];
  opened.clear();
  const cap = () => new Promise<void>((resolve) => setTimeout(resolve, 5_000));
  await Promise.all(ids.map((id) => Promise.race([env.SESSION.get(env.SESSION.idFromName(id)).disconnect().catch(() => {}), cap()])));
}

// Every JSON answer a test reads is checked against what its route declares (the schemas the
// OpenAPI document is built from), so presenters and the document cannot drift apart.

/** Keys of `input` that `output` (the schema's parse result) dropped: fields the schema does not declare. */
function undeclaredKeys(input: unknown, output: unknown, at: string, found: string[]): void {
  if (Array.isArray(input) && Array.isArray(output)) {
    input.forEach((item, i) => undeclaredKeys(item, output[i], `${at}[${i}]`, found));
  } else if (input && output && typeof input === "object" && typeof output === "object") {
    for (const [key, value] of Object.entries(input)) {
      if (!(key in output)) found.push(`${at}.${key}`);
      else undeclaredKeys(value, (output as Record<string, unknown>)[key], `${at}.${key}`, found);
    }
  }
}

function schemaFor(method: string, pathname: string, status: number): ZodType | null {
  if (status >= 400) return ErrorEnvelope;
  const declared = api.declaredResponse(method, pathname, status);
  if (!declared) throw new Error(`${method} ${pathname}: no route serves this, yet it answered ${status} with JSON`);
  if (!declared.spec) throw new Error(`${method} ${declared.path}: answered ${status}, a status the route does not declare`);
  if (declared.spec.schema) return declared.spec.schema;
  throw new Error(`${method} ${declared.path}: answered ${status} with JSON, but declares no response schema`);
}

/** Fails (throws) when a JSON body does not match the declared response schema of its route. */
export function assertDeclared(method: string, path: string, status: number, json: unknown): void {
  const pathname = new URL(path, "http://gateway.test").pathname;
  const schema = schemaFor(method, pathname, status);
  if (!schema) return;
  const result = schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new Error(`${method} ${pathname} ${status}: the body does not match the declared schema: ${issues}\n${JSON.stringify(json).slice(0, 2000)}`);
  }
  const extra: string[] = [];
  undeclaredKeys(json, result.data, "", extra);
  if (extra.length) throw new Error(`${method} ${pathname} ${status}: undeclared fields in the body: ${extra.join(", ")}`);
}

/** Reads a response the way `call` does; a JSON body is checked against its route's declared schema. */
export async function checkedJson(method: string, path: string, response: Response) {
  const text = await response.text();
  let json: any = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const isJson = (response.headers.get("Content-Type") ?? "").includes("json");
  if (isJson && json !== undefined) assertDeclared(method.toUpperCase(), path, response.status, json);
  return { status: response.status, headers: response.headers, json, text };
}

export interface TestAccount {
  id: string;
  key: string;
  keyId: string;
}

/** Bootstraps an account through the admin API and returns its first key. */
export async function createAccount(input: Record<string, unknown> = {}): Promise<TestAccount> {
  const res = await call("POST", "/v1/admin/accounts", {
    key: ADMIN_TOKEN,
    body: { name: `acct-${crypto.randomUUID().slice(0, 8)}`, ...input },
  });
  if (res.status !== 201) throw new Error(`account bootstrap failed: ${res.status} ${res.text}`);
  return { id: res.json.account.id, key: res.json.api_key.key, keyId: res.json.api_key.id };
}
