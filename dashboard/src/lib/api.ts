import { forgetKey, storedKey } from "./auth";
import { safeMediaType } from "./media-type";

/** Fired when the signed-in key stops working (revoked): the app returns to sign-in. */
export const SIGNED_OUT_EVENT = "wa-gateway:signed-out";

/** The gateway's error envelope, thrown for any non-2xx answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface CallOptions {
  body?: unknown;
  /** Another bearer than the signed-in key (the admin token). */
  token?: string;
  signal?: AbortSignal;
}

/** The Authorization header for the signed-in key, or for `token` (the admin token). */
export function authHeaders(token?: string): Record<string, string> {
  const bearer = token ?? storedKey();
  return bearer ? { Authorization: `Bearer ${bearer}` } : {};
}

/**
 * The ApiError for a non-2xx answer (the error envelope's message when there is one). A 401 for
 * the signed-in key means it was revoked: forget it and return to sign-in.
 */
export async function failure(response: Response, token?: string): Promise<ApiError> {
  const json = await response.json().catch(() => null);
  if (response.status === 401 && token === undefined && storedKey()) {
    forgetKey();
    dispatchEvent(new Event(SIGNED_OUT_EVENT));
  }
  const error = json?.error;
  return new ApiError(response.status, error?.code ?? "http_error", error?.message ?? `HTTP ${response.status}`, error?.details);
}

export async function api<T = any>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...authHeaders(options.token) };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  if (!response.ok) throw await failure(response, options.token);
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

/**
 * Bytes of a protected resource (media) as an object URL the caller revokes, re-typed through
 * the allow-list (media-type.ts) so a sender's HTML or SVG never runs as a page of this origin.
 */
export async function mediaBlobUrl(path: string, signal?: AbortSignal): Promise<{ url: string; type: string }> {
  const response = await fetch(path, { headers: authHeaders(), signal });
  if (!response.ok) throw await failure(response);
  const blob = await response.blob();
  const type = safeMediaType(blob.type || response.headers.get("Content-Type") || "");
  return { url: URL.createObjectURL(new Blob([blob], { type })), type };
}

/** One line for a status area: the message, then each offending field. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = Array.isArray(error.details)
      ? error.details.map((d: any) => (d?.field ? `${d.field}: ${d.message}` : "")).filter(Boolean)
      : [];
    return [`${error.message} (${error.code})`, ...fields].join(" — ");
  }
  return error instanceof Error ? error.message : String(error);
}
