// Opaque keyset cursors for newest-first listings ordered by (created_at, id).

export interface Cursor {
  createdAt: string;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return btoa(JSON.stringify([c.createdAt, c.id])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** null when `raw` is not a cursor this API returned. */
export function decodeCursor(raw: string): Cursor | null {
  try {
    const [createdAt, id] = JSON.parse(atob(raw.replace(/-/g, "+").replace(/_/g, "/"))) as unknown[];
    if (typeof createdAt !== "string" || typeof id !== "string") return null;
    return { createdAt, id };
  } catch {
    return null;
  }
}
