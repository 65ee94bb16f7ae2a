// Parses bracketed query strings (`filter[to_number][]=a&filter[status]=sent`) into
// nested null-prototype objects with qs, so zod can validate them like a body. Prototype keys
// in any bracket segment, malformed percent-encoding and unstorable text are refused (422), and
// qs' limits answer 422 instead of silently turning a long list into an object.
import qs from "qs";
import { findInputProblem, isForbiddenKey } from "../domain/safe-input";
import { ApiError } from "./errors";

export type QueryValue = string | QueryValue[] | { [key: string]: QueryValue };

export const QUERY_LIMITS = { parameters: 500, depth: 5, arrayLength: 500 } as const;

const invalidQuery = (field: string | undefined, code: string, message: string) =>
  new ApiError(422, "validation_failed", "The request is invalid.", [{ field, in: "query", code, message }]);

function decode(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    throw invalidQuery(undefined, "malformed_encoding", `Malformed percent-encoding in "${raw.slice(0, 100)}".`);
  }
}

function checkedKey(key: string): string {
  const segment = key.split(/[[\]]+/).find(isForbiddenKey);
  if (segment !== undefined) throw invalidQuery(key, "forbidden_key", `The key "${segment}" is not allowed in a query string.`);
  return key;
}

/** `search` is the raw query string, with or without its leading "?". */
export function parseQuery(search: string): Record<string, QueryValue> {
  const raw = search.startsWith("?") ? search.slice(1) : search;
  let parsed: Record<string, QueryValue>;
  try {
    parsed = qs.parse(raw, {
      plainObjects: true, // null-prototype objects
      allowPrototypes: false,
      allowDots: false,
      depth: QUERY_LIMITS.depth,
      strictDepth: true,
      parameterLimit: QUERY_LIMITS.parameters,
      arrayLimit: QUERY_LIMITS.arrayLength,
      throwOnLimitExceeded: true,
      duplicates: "combine",
      // Keys are checked here, on exactly the key qs splits (it cuts at `]=`, not the first `=`).
      decoder: (value, _default, _charset, type) => (type === "key" ? checkedKey(decode(value)) : decode(value)),
    }) as Record<string, QueryValue>;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (error instanceof RangeError) throw invalidQuery(undefined, "query_limit", error.message);
    throw error;
  }
  const problem = findInputProblem(parsed);
  if (problem) throw invalidQuery(problem.path || undefined, problem.code, problem.message);
  return parsed;
}
