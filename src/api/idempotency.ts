// Idempotency-Key on creating POSTs: the first successful answer is stored (in the same D1
// transaction as what it created) and replayed for a repeat; the same key with another
// request is refused. Failed requests store nothing, so they can be retried as they are.
import type { Db } from "../db/client";
import {
  IN_PROGRESS,
  completeReservation,
  deleteIdempotencyRow,
  findIdempotencyRow,
  releaseReservation,
  reserveIdempotencyKey,
  upsertIdempotentAnswer,
  type IdempotencyRow,
  type IdempotentRequest,
} from "../db/idempotency.repo";
import { sha256Hex } from "../domain/api-keys";
import { now } from "../domain/time";
import { log } from "../platform/log";
import { ApiError } from "./errors";

export { findIdempotencyRow, forgetIdempotencyKey, type IdempotencyRow } from "../db/idempotency.repo";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
// A reservation (status 0) marks a request being processed; one older than this was abandoned
// (its isolate died mid-request) and no longer blocks the key. Well above the longest handler
// (session create waits up to ~15 s for a QR, a sandbox scan ~10 s), so a slow request is never
// taken over while it still runs.
export const IN_PROGRESS_STALE_MS = 5 * 60_000;

export type IdempotencyContext = IdempotentRequest;

/** The request's Idempotency-Key, or null; 400 when it is malformed. */
export function idempotencyKey(request: Request): string | null {
  const key = request.headers.get("Idempotency-Key");
  if (key === null) return null;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new ApiError(400, "invalid_idempotency_key", "Idempotency-Key must be 1-255 printable ASCII characters without spaces.", [
      { field: "Idempotency-Key", in: "header", message: "1-255 printable ASCII characters." },
    ]);
  }
  return key;
}

/**
 * JSON with sorted keys, so equal bodies hash equally whatever their key order. Recursive, but
 * only ever on a parsed body, whose nesting the body reader caps (MAX_JSON_DEPTH).
 */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The path as the client meant it: `/phones/%2B1555…` and `/phones/+1555…` are one request. */
function decodedPath(url: URL): string {
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    return url.pathname; // the router refuses it anyway
  }
}

/** `body` is the parsed body, or null for a route that takes none (whatever was sent). */
export async function idempotencyContext(request: Request, url: URL, body: unknown): Promise<IdempotencyContext | null> {
  const key = idempotencyKey(request);
  if (!key) return null;
  const method = request.method.toUpperCase();
  const path = decodedPath(url);
  return { key, method, path, requestHash: await sha256Hex(`${method} ${path}\n${stableJson(body)}`) };
}

const inProgress = () =>
  new ApiError(409, "idempotency_key_in_progress", "A request with this Idempotency-Key is still being processed; retry shortly.", [], {
    "Retry-After": "1",
  });

/** The stored answer for a repeat of this request, or null to process it; 422 for a reused key. */
export async function replayIdempotent(db: Db, accountId: string, ctx: IdempotencyContext): Promise<Response | null> {
  const found = await storedAnswer(db, accountId, ctx);
  return found === "expired" ? null : found;
}

/** As replayIdempotent, but says when an expired row was just deleted. */
async function storedAnswer(db: Db, accountId: string, ctx: IdempotencyContext): Promise<Response | "expired" | null> {
  const row = await findIdempotencyRow(db, accountId, ctx.key);
  const found = answerOf(row, ctx);
  if (found === "expired") await deleteIdempotencyRow(db, row!);
  return found;
}

/**
 * What a stored row answers this request, without touching D1: the stored answer, null (no
 * row), "expired" (the caller may delete it), or a thrown 422 reused key / 409 in progress.
 */
export function answerOf(row: IdempotencyRow | undefined, ctx: IdempotencyContext): Response | "expired" | null {
  if (!row) return null;
  const age = Date.now() - Date.parse(row.createdAt);
  if (age > IDEMPOTENCY_TTL_MS || (row.statusCode === IN_PROGRESS && age > IN_PROGRESS_STALE_MS)) return "expired";
  if (row.requestHash !== ctx.requestHash) {
    throw new ApiError(422, "idempotency_key_reused", "This Idempotency-Key was used with a different request; use a new key.", [
      { field: "Idempotency-Key", in: "header", message: `First used for ${row.method} ${row.path} with another body.` },
    ]);
  }
  if (row.statusCode === IN_PROGRESS) throw inProgress();
  // Re-serialised so numbers stored by SQLite (4990.0) read as the first answer did (4990).
  return Response.json(JSON.parse(row.response), { status: row.statusCode, headers: { "Idempotent-Replayed": "true" } });
}

/** Stores (or corrects) an answer outside the accepting transaction. */
export async function storeIdempotent(db: Db, accountId: string, ctx: IdempotencyContext, status: number, body: unknown, at: string): Promise<void> {
  await upsertIdempotentAnswer(db, accountId, ctx, status, JSON.stringify(body), at);
}

/**
 * For routes that store their answer in their own D1 transaction (`idempotency: "handler"`):
 * runs `write`; when it fails and a concurrent twin (or an earlier run) with the same key won
 * the insert of the stored answer, answers as that one did: from `earlier` (the row read
 * alongside the write, no further trip) when it holds the answer, else read now. When the row
 * in the way had expired (the accept routes claim the key in their batch without waiting for a
 * read), it is deleted and the write runs once more.
 */
export async function writeOrReplay<T>(
  db: Db,
  accountId: string,
  ctx: IdempotencyContext | null,
  write: () => Promise<T>,
  earlier?: Promise<IdempotencyRow | undefined>,
): Promise<T | Response> {
  try {
    return await write();
  } catch (error) {
    if (!ctx) throw error;
    const seen = earlier ? answerOf(await earlier, ctx) : null;
    if (seen instanceof Response) return seen;
    const found = await storedAnswer(db, accountId, ctx);
    if (found === "expired") return writeOrReplay(db, accountId, ctx, write);
    if (found) return found;
    throw error;
  }
}

/**
 * Runs a creating request at most once per key: reserves the key (a concurrent twin gets 409 or
 * the stored answer), runs `handler`, stores a 2xx JSON answer (through `redact`, so a secret
 * shown once is never kept), and releases the key on failure so the request can be retried as
 * it is. Routes that create in their own D1 transaction (messages, webhooks) store the answer
 * inside it instead.
 *
 * The reservation belongs to this request: it holds a random token (in `response` while the
 * status is 0) and the request hash, and store/release match both. If it went stale and another
 * request took the key over, this request's answer or failure never touches the newcomer's row.
 */
export async function runIdempotent(
  db: Db,
  accountId: string,
  ctx: IdempotencyContext,
  handler: () => Promise<Response>,
  redact: (answer: unknown) => unknown = (answer) => answer,
): Promise<Response> {
  const replay = await replayIdempotent(db, accountId, ctx);
  if (replay) return replay;
  const token = `reserved:${crypto.randomUUID()}`;
  if (!(await reserveIdempotencyKey(db, accountId, ctx, token, now()))) {
    const twin = await replayIdempotent(db, accountId, ctx);
    if (twin) return twin;
    throw inProgress();
  }
  const lost = (action: string) =>
    log.warn({ account: accountId, key: ctx.key }, `idempotency reservation taken over before ${action}; left the newer request's row alone`);
  const release = async () => {
    if (!(await releaseReservation(db, accountId, ctx, token))) lost("release");
  };
  let response: Response;
  try {
    response = await handler();
  } catch (error) {
    await release().catch((err: unknown) => log.error({ key: ctx.key, err }, "idempotency release failed"));
    throw error;
  }
  try {
    const text = response.ok && (response.headers.get("Content-Type") ?? "").includes("json") ? await response.clone().text() : null;
    if (text === null) {
      await release();
      return response;
    }
    const stored = JSON.stringify(redact(JSON.parse(text)));
    if (!(await completeReservation(db, accountId, ctx, token, response.status, stored))) lost("storing the answer");
  } catch (err) {
    // What was created is created: the client gets its answer; the reservation goes stale.
    log.error({ account: accountId, key: ctx.key, err }, "storing the idempotent answer failed");
  }
  return response;
}
