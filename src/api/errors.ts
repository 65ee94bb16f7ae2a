import { ApiError } from "../domain/errors";

export { ApiError, badRequest, conflict, notFound, tooManyRequests, unauthorized, unprocessable, type ErrorDetail } from "../domain/errors";

export function errorResponse(error: ApiError): Response {
  return Response.json(
    { success: false, error: { code: error.code, message: error.message, details: error.details } },
    { status: error.status, headers: error.headers },
  );
}

/** Anything that is not an ApiError is a bug (the router logs it whole): a generic 500. */
export function toErrorResponse(error: unknown): Response {
  if (error instanceof ApiError) return errorResponse(error);
  return errorResponse(new ApiError(500, "internal_error", "An internal error occurred."));
}
