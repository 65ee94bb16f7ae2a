import type { AccountRow } from "../db/accounts.repo";
import { cachedKey, forgetKey, rememberKey } from "../db/api-key-cache";
import { findKeyWithAccount, touchKey, type ApiKeyRow } from "../db/api-keys.repo";
import { database } from "../db/client";
import { isWellFormedApiKey, sha256Hex, timingSafeEqualString } from "../domain/api-keys";
import { now } from "../domain/time";
import { unauthorized } from "./errors";

export interface AuthContext {
  account: AccountRow;
  key: ApiKeyRow;
  /** Read from this isolate's cache (`fastAccept` routes only): not yet checked against D1. */
  cached: boolean;
}

/** The 401 of a key found unknown or revoked (also inside the accept batch, which forgets it). */
export function keyRefusal(reason: "invalid_api_key" | "revoked_api_key", keyId?: string) {
  if (keyId) forgetKey(keyId);
  return reason === "revoked_api_key"
    ? unauthorized("revoked_api_key", "The API key has been revoked.")
    : unauthorized("invalid_api_key", "The API key is not valid.");
}

/** The key (by hash) and its account read from D1 now; 401 when gone or revoked. */
export async function verifyKey(env: Env, hash: string): Promise<AuthContext> {
  const found = await findKeyWithAccount(database(env), hash);
  if (!found) throw keyRefusal("invalid_api_key");
  if (found.key.revokedAt) throw keyRefusal("revoked_api_key", found.key.id);
  rememberKey(found);
  return { ...found, cached: false };
}

// last_used_at is refreshed at most this often, to keep a write off most requests.
const TOUCH_INTERVAL_MS = 60_000;

function bearer(request: Request): string {
  const header = request.headers.get("Authorization");
  if (!header) throw unauthorized("missing_api_key", "Send your API key as `Authorization: Bearer <key>`.");
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw unauthorized("malformed_authorization", "The Authorization header must be `Bearer <key>`.");
  return match[1];
}

/** `cached`: a key seen in this isolate is trusted until the request re-checks it (api/accept-gate.ts). */
export async function authenticateAccount(request: Request, env: Env, exec: ExecutionContext, cached = false): Promise<AuthContext> {
  const token = bearer(request);
  if (!isWellFormedApiKey(token)) throw unauthorized("invalid_api_key", "The API key is not valid.");
  const hash = await sha256Hex(token);
  const hit = cached ? cachedKey(hash) : undefined;
  // A copy per request: a handler never changes the cached entry's account.
  const auth = hit ? { account: { ...hit.account }, key: hit.key, cached: true } : await verifyKey(env, hash);
  const last = auth.key.lastUsedAt ? Date.parse(auth.key.lastUsedAt) : 0;
  if (Date.now() - last > TOUCH_INTERVAL_MS) {
    const at = now();
    auth.key.lastUsedAt = at; // the cached entry too: one touch per interval
    exec.waitUntil(touchKey(database(env), auth.key.id, at));
  }
  return auth;
}

export function authenticateAdmin(request: Request, env: Env): void {
  const token = bearer(request);
  const expected = env.ADMIN_TOKEN;
  if (!expected) throw unauthorized("admin_disabled", "Admin access is disabled: the ADMIN_TOKEN secret is not set.");
  if (!timingSafeEqualString(token, expected)) throw unauthorized("invalid_admin_token", "The admin token is not valid.");
}
