import type { AuthContext } from "./auth";
import { database } from "../db/client";
import { type ContactRow, listContacts } from "../db/contacts.repo";
import { normalizePhone } from "../domain/phone";
import { notFound, unprocessable } from "./errors";

// The contact list: one D1 query after auth (the session's object is not asked), keyset pages by
// contact key (a number's digits, else the LID) behind an opaque cursor.

const cursorOf = (key: string) => btoa(JSON.stringify(["c", key])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function keyOf(cursor: string): string | null {
  try {
    const [tag, key] = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/"))) as unknown[];
    return tag === "c" && typeof key === "string" ? key : null;
  } catch {
    return null;
  }
}

const present = (c: ContactRow) => ({ phone_number: c.phoneNumber, lid: c.lid, name: c.name, push_name: c.pushName, verified_name: c.verifiedName, updated_at: c.updatedAt });

export async function contactPage(env: Env, auth: AuthContext, sessionParam: string, query: { limit: number; cursor?: string; search?: string }) {
  const after = query.cursor ? keyOf(query.cursor) : null;
  if (query.cursor && after === null) throw unprocessable([{ field: "cursor", in: "query", message: "Not a cursor this API returned." }]);
  const page = await listContacts(database(env), auth.account.id, sessionParam, { limit: query.limit + 1, after, search: query.search ?? null });
  if (!page.found) throw notFound("Session");
  const rows = page.rows.slice(0, query.limit);
  return { contacts: rows.map(present), next_cursor: page.rows.length > query.limit ? cursorOf(rows[rows.length - 1].contactKey) : null };
}

/** Digits; the schema already refused what normalizePhone does not accept. */
export const digitsOf = (phone: string): string => normalizePhone(phone)!;
