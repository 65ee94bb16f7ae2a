// Errors keep the public message apart from internal detail: only `code`, `message` and
// `details` reach the client; anything else is logged.
export interface ErrorDetail {
  field?: string;
  in?: "body" | "query" | "path" | "header";
  code?: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] | Record<string, unknown> = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
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

export function errorResponse(error: ApiError): Response {
  return Response.json(
    { success: false, error: { code: error.code, message: error.message, details: error.details } },
    { status: error.status, headers: error.headers },
  );
}

/** Anything that is not an ApiError is a bug: log it whole, answer with a generic 500. */
export function toErrorResponse(error: unknown): Response {
  if (error instanceof ApiError) return errorResponse(error);
  console.error("unhandled error", error);
  return errorResponse(new ApiError(500, "internal_error", "An internal error occurred."));
}
