// Parses bracketed query strings (seed 000: `filter[to_number][]=a&filter[status]=sent`)
// into nested objects so zod can validate them like a body.
export type QueryValue = string | string[] | { [key: string]: QueryValue };

export function parseQuery(params: URLSearchParams): Record<string, QueryValue> {
  const root: Record<string, QueryValue> = {};
  for (const [rawKey, value] of params) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    if (!match) {
      root[rawKey] = value;
      continue;
    }
    const keys = [match[1], ...[...match[2].matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1])];
    let node: Record<string, QueryValue> = root;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const last = i === keys.length - 1;
      const nextIsList = keys[i + 1] === "";
      if (last) {
        if (key === "") continue; // handled by the parent as a list
        const existing = node[key];
        if (existing === undefined) node[key] = value;
        else node[key] = Array.isArray(existing) ? [...existing, value] : [String(existing), value];
        break;
      }
      if (nextIsList && i + 1 === keys.length - 1) {
        const existing = node[key];
        node[key] = Array.isArray(existing) ? [...existing, value] : existing === undefined ? [value] : [String(existing), value];
        break;
      }
      const child = node[key];
      if (typeof child !== "object" || Array.isArray(child)) node[key] = {};
      node = node[key] as Record<string, QueryValue>;
    }
  }
  return root;
}
