import type { AccountRow } from "../db/accounts.repo";
import { findKeyWithAccount, touchKey, type ApiKeyRow } from "../db/api-keys.repo";
import { database } from "../db/client";
import { isWellFormedApiKey, sha256Hex, timingSafeEqualString } from "../domain/api-keys";
import { now } from "../domain/time";
import { unauthorized } from "./errors";

export interface AuthContext {
  account: AccountRow;
  key: ApiKeyRow;
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

export async function authenticateAccount(request: Request, env: Env, exec: ExecutionContext): Promise<AuthContext> {
  const token = bearer(request);
  if (!isWellFormedApiKey(token)) throw unauthorized("invalid_api_key", "The API key is not valid.");
  const db = database(env);
  const found = await findKeyWithAccount(db, await sha256Hex(token));
  if (!found) throw unauthorized("invalid_api_key", "The API key is not valid.");
  if (found.key.revokedAt) throw unauthorized("revoked_api_key", "The API key has been revoked.");
  const last = found.key.lastUsedAt ? Date.parse(found.key.lastUsedAt) : 0;
  if (Date.now() - last > TOUCH_INTERVAL_MS) exec.waitUntil(touchKey(db, found.key.id, now()));
  return found;
}

export function authenticateAdmin(request: Request, env: Env): void {
  const token = bearer(request);
  const expected = env.ADMIN_TOKEN;
  if (!expected) throw unauthorized("admin_disabled", "Admin access is disabled: the ADMIN_TOKEN secret is not set.");
  if (!timingSafeEqualString(token, expected)) throw unauthorized("invalid_admin_token", "The admin token is not valid.");
}
