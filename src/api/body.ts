// The one JSON body reader of the API: size cap (413), media type (415), strict UTF-8 and JSON
// (400), nesting cap (400), then prototype keys and unstorable text anywhere in the document
// (422, naming the JSON path). Nothing downstream sees a body that failed any of these.
import { readAllCapped, StreamTooLarge } from "../domain/capped-stream";
import { MAX_JSON_DEPTH, findInputProblem, jsonDepthExceeds } from "../domain/safe-input";
import { ApiError, badRequest } from "./errors";

/** Largest request body accepted, in bytes (1 MiB). */
export const MAX_BODY_BYTES = 1024 * 1024;

const tooLarge = (max: number) =>
  new ApiError(413, "payload_too_large", `The request body is larger than ${max} bytes.`, [
    { in: "body", code: "payload_too_large", message: `At most ${max} bytes.` },
  ]);

/** application/json or any +json type, in UTF-8 (a charset parameter, if any, must say utf-8). */
export function isJsonMediaType(contentType: string | null): boolean {
  if (!contentType) return false;
  const [type, ...parameters] = contentType.toLowerCase().split(";").map((p) => p.trim());
  const charset = parameters.find((p) => p.startsWith("charset="))?.slice(8).replace(/"/g, "");
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") return false;
  return type === "application/json" || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type);
}

/** The body's bytes, refusing more than `max` whether or not Content-Length says so. */
async function readCapped(request: Request, max: number): Promise<Uint8Array> {
  const declared = request.headers.get("Content-Length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > max) throw tooLarge(max);
  if (!request.body) return new Uint8Array(0);
  try {
    return await readAllCapped(request.body, max);
  } catch (error) {
    if (error instanceof StreamTooLarge) throw tooLarge(max);
    throw error;
  }
}

const unsupportedType = (contentType: string | null) =>
  new ApiError(415, "unsupported_media_type", "Send the body as JSON with `Content-Type: application/json`.", [
    { field: "Content-Type", in: "header", code: "unsupported_media_type", message: `Got ${contentType ? `"${contentType.slice(0, 100)}"` : "no Content-Type"}.` },
  ]);

/** Whether the request carries a non-empty body, read no further than its first chunk. */
async function hasContent(request: Request): Promise<boolean> {
  const declared = request.headers.get("Content-Length");
  if (declared !== null && /^\d+$/.test(declared)) {
    await request.body?.cancel().catch(() => undefined);
    return Number(declared) > 0;
  }
  if (!request.body) return false;
  try {
    await readAllCapped(request.body, 0);
    return false;
  } catch (error) {
    if (error instanceof StreamTooLarge) return true;
    throw error;
  }
}

/**
 * Reads and checks a JSON body. An empty body is `{}` when `optional` (bodyless POSTs need no
 * Content-Type), else 400. A non-empty body must be sent as application/json (or +json): 415.
 */
export async function readJsonBody(request: Request, optional: boolean, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  const contentType = request.headers.get("Content-Type");
  let bytes: Uint8Array = new Uint8Array(0);
  if (isJsonMediaType(contentType)) bytes = await readCapped(request, maxBytes);
  // Checked before reading: a 24 MiB upload sent as text/plain is refused unread.
  else if (await hasContent(request)) throw unsupportedType(contentType);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw badRequest("invalid_json", "The request body is not valid UTF-8.");
  }
  if (!text.trim()) {
    if (optional) return {};
    throw badRequest("missing_body", "A JSON request body is required.");
  }
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    throw badRequest("json_too_deep", `The JSON body nests arrays/objects deeper than ${MAX_JSON_DEPTH} levels.`, [
      { in: "body", code: "json_too_deep", message: `At most ${MAX_JSON_DEPTH} levels of nesting.` },
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest("invalid_json", "The request body is not valid JSON.");
  }
  const problem = findInputProblem(value);
  if (problem) {
    throw new ApiError(422, "validation_failed", "The request is invalid.", [
      { field: problem.path || undefined, in: "body", code: problem.code, message: problem.message },
    ]);
  }
  return value;
}
