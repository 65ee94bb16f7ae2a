// Pure (no preact): the unit tests import it in the Worker's typings.

/** "#/sessions/a%20b" → ["sessions", "a b"]. */
export function routeOf(hash: string): string[] {
  return hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeSegment);
}

/** A malformed escape (#/sessions/%E0) is kept as typed: the page says "not found", never blank. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
