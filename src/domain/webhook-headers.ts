import { unprocessable } from "./errors";

// Custom webhook headers often carry the receiver's token: after the creation response the API
// shows their names only, each value replaced by HEADER_MASK. A client that sends a webhook back
// as it read it (PATCH with the masked values) keeps the stored values instead of saving "***".

export const HEADER_MASK = "***";

/** Set by the delivery itself; a custom header of the same name is refused at the API and skipped when sending. */
export const RESERVED_HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent"];

/** Names kept, values masked. */
export function maskHeaders(headers: Record<string, string> | null | undefined): Record<string, string> {
  return Object.fromEntries(Object.keys(headers ?? {}).map((name) => [name, HEADER_MASK]));
}

/**
 * `given` with every masked value replaced by the stored value of that header (names compared
 * case-insensitively); 422 for a masked value with nothing stored behind it. `stored` null when
 * no stored value may be kept (a new webhook, or a url moved to another origin).
 */
export function unmaskHeaders(given: Record<string, string>, stored: Record<string, string> | null | undefined, why = "this webhook has none"): Record<string, string> {
  const storedByName = new Map(Object.entries(stored ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  const missing: string[] = [];
  const entries = Object.entries(given).map(([name, value]): [string, string] => {
    if (value !== HEADER_MASK) return [name, value];
    const kept = storedByName.get(name.toLowerCase());
    if (kept === undefined) missing.push(name);
    return [name, kept ?? value];
  });
  if (missing.length) {
    throw unprocessable(
      missing.map((name) => ({ field: `headers.${name}`, in: "body", code: "masked_value", message: `"${HEADER_MASK}" keeps a stored value, and ${why} for "${name}": send the value itself.` })),
    );
  }
  return Object.fromEntries(entries);
}

/**
 * The headers a PATCH stores: undefined = unchanged. Stored values were given for the old url's
 * receiver; when the url moves to another origin they are not sent there silently: the PATCH
 * must give the headers again, values included (or {} / null to drop them).
 */
export function patchHeaders(
  given: Record<string, string> | null | undefined,
  stored: Record<string, string> | null,
  originChanged: boolean,
): Record<string, string> | null | undefined {
  if (given === undefined) {
    if (originChanged && stored && Object.keys(stored).length) {
      throw unprocessable(
        [{ field: "headers", in: "body", code: "headers_required", message: "The url moves to another origin: send headers again with their values (or {} to drop them); stored values are not sent to a new receiver." }],
      );
    }
    return undefined;
  }
  if (!given || !Object.keys(given).length) return null;
  return originChanged ? unmaskHeaders(given, null, "the url moves to another origin, so stored values are not kept") : unmaskHeaders(given, stored);
}
