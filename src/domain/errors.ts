// Errors keep the public message apart from internal detail: only `code`, `message` and
// `details` reach the client; `internal` (a cause, a WhatsApp code, a stack) is logged, never sent.
export interface ErrorDetail {
  field?: string;
  in?: "body" | "query" | "path" | "header";
  code?: string;
  message: string;
}

export class ApiError extends Error {
  /** Logged with the request, never part of the response. */
  internal?: unknown;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] | Record<string, unknown> = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  /** Attach what the operator needs to see (a cause, internal ids); the client never sees it. */
  withInternal(internal: unknown): this {
    this.internal = internal;
    return this;
  }
}

export const badRequest = (code: string, message: string, details?: ErrorDetail[]) =>
  new ApiError(400, code, message, details);
export const unauthorized = (code: string, message: string) => new ApiError(401, code, message);
export const notFound = (what = "Resource") => new ApiError(404, "not_found", `${what} not found.`);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new ApiError(409, code, message, details);
export const unprocessable = (details: ErrorDetail[], message = "The request is invalid.") =>
  new ApiError(422, "validation_failed", message, details);
export const tooManyRequests = (code: string, message: string, retryAfterSeconds?: number) =>
  new ApiError(
    429,
    code,
    message,
    retryAfterSeconds ? { retry_after: retryAfterSeconds } : [],
    retryAfterSeconds ? { "Retry-After": String(retryAfterSeconds) } : {},
  );
