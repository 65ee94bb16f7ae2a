import { exports } from "cloudflare:workers";

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
  const text = await response.text();
  let json: any = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
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
