import { now } from "../domain/time";
import { fromSql, type MessageRow } from "./messages.rows";

// Chats: the state table (`chats`) and what the listing reads from `messages` (migration 0005).
// Reads resolve the session inside the same batch, so a list costs one D1 trip after auth.

/** A chat's key as stored: a number's digits, or the group id (…@g.us); LIDs as given. */
export const chatKeyOf = (jid: string): string => jid.replace(/@s\.whatsapp\.net$/, "").replace(/:\d+(?=@)/, "");

export interface ChatRow {
  chat_id: string;
  name: string | null;
  archived: number | null;
  pinned_at: string | null;
  muted: number | null;
  muted_until: string | null;
  cleared_at: string | null;
  sort_key: string;
  message_id: string | null;
  message_type: string | null;
  direction: "incoming" | "outgoing" | null;
  content: string | null;
  at: string | null;
  unread: number | null;
}

export interface ChatFilters {
  archived?: boolean;
  type?: "individual" | "group";
  chatId?: string;
}

const SESSION = `SELECT id FROM sessions WHERE account_id = ?1 AND (id = ?2 OR session_id = ?2)`;

/**
 * The listing's SQL. Its cost follows the number of chats, not of messages: the chat keys come
 * from the (session, chat_key, created_at) index one seek each (a recursive skip over distinct
 * keys), a chat's last message is one backward seek, and the unread count reads the partial
 * unread index of the page's chats only (migration 0005; chats-list-plan.test.ts checks the plan).
 */
export function chatListQuery(accountId: string, sessionParam: string, filters: ChatFilters, page: { limit: number; cursor: { at: string; id: string } | null }) {
  const args: unknown[] = [accountId, sessionParam];
  const arg = (v: unknown) => `?${args.push(v)}`;
  // A chat shows once it has a message (scheduled ones wait) or a stored state.
  const where: string[] = ["coalesce(l.created_at, t.updated_at) IS NOT NULL"];
  if (filters.archived !== undefined) where.push(`coalesce(t.archived, 0) = ${filters.archived ? 1 : 0}`);
  if (filters.type === "group") where.push(`t.chat_id LIKE '%@g.us'`);
  if (filters.type === "individual") where.push(`t.chat_id NOT LIKE '%@g.us'`);
  const keys = filters.chatId
    ? `a AS (SELECT s.id AS sid, ${arg(filters.chatId)} AS chat_id FROM s WHERE EXISTS (SELECT 1 FROM messages WHERE whatsapp_session_id = s.id AND chat_key = ?3)
        OR EXISTS (SELECT 1 FROM chats WHERE session_id = s.id AND chat_id = ?3))`
    : `keys(sid, k) AS (
        SELECT s.id, (SELECT min(chat_key) FROM messages WHERE whatsapp_session_id = s.id AND chat_key > '') FROM s
        UNION ALL
        SELECT sid, (SELECT min(chat_key) FROM messages WHERE whatsapp_session_id = sid AND chat_key > k) FROM keys WHERE k IS NOT NULL),
      a AS (SELECT sid, k AS chat_id FROM keys WHERE k IS NOT NULL UNION SELECT session_id, chat_id FROM chats WHERE session_id = (SELECT id FROM s))`;
  const sortKey = `(CASE WHEN t.pinned_at IS NULL THEN '0' ELSE '1' END) || coalesce(l.created_at, t.updated_at)`;
  if (page.cursor) where.push(`(${sortKey} < ${arg(page.cursor.at)} OR (${sortKey} = ?${args.length} AND t.chat_id < ${arg(page.cursor.id)}))`);
  const sql = `WITH RECURSIVE s AS (${SESSION}),
    ${keys},
    t AS (
      SELECT a.sid, a.chat_id, c.name, c.archived, c.pinned_at, c.muted, c.muted_until, c.cleared_at, c.updated_at,
        (SELECT m.id FROM messages m WHERE m.whatsapp_session_id = a.sid AND m.chat_key = a.chat_id AND m.created_at > coalesce(c.cleared_at, '')
           AND m.status != 'scheduled' ORDER BY m.created_at DESC LIMIT 1) AS last_id
      FROM a LEFT JOIN chats c ON c.session_id = a.sid AND c.chat_id = a.chat_id),
    -- Pinned chats first (as the app shows them), then by last activity: one key for the cursor.
    page AS MATERIALIZED (
      SELECT t.*, ${sortKey} AS sort_key FROM t LEFT JOIN messages l ON l.id = t.last_id
      WHERE ${where.join(" AND ")}
      ORDER BY sort_key DESC, t.chat_id DESC LIMIT ${arg(page.limit + 1)})
    SELECT p.chat_id, coalesce(p.name, k.name, k.push_name) AS name, p.archived, p.pinned_at, p.muted, p.muted_until, p.cleared_at, p.sort_key,
      l.id AS message_id, l.type AS message_type, l.direction, l.content, l.created_at AS at,
      (SELECT count(*) FROM messages u WHERE u.whatsapp_session_id = p.sid AND u.chat_key = p.chat_id AND u.direction = 'incoming' AND u.read_at IS NULL
         AND u.created_at > coalesce(p.cleared_at, '')) AS unread
    FROM page p LEFT JOIN messages l ON l.id = p.last_id
      LEFT JOIN contacts k ON k.session_id = p.sid AND k.contact_key = p.chat_id
    ORDER BY p.sort_key DESC, p.chat_id DESC`;
  return { sql, args };
}

/** The session's chats, pinned first, then most recent activity first; null when the session is not the account's. */
export async function listChats(
  d1: D1Database,
  accountId: string,
  sessionParam: string,
  filters: ChatFilters,
  page: { limit: number; cursor: { at: string; id: string } | null },
): Promise<{ rows: ChatRow[]; next: { at: string; id: string } | null } | null> {
  const list = chatListQuery(accountId, sessionParam, filters, page);
  const [session, chats] = await d1.batch<Record<string, unknown>>([d1.prepare(SESSION).bind(accountId, sessionParam), d1.prepare(list.sql).bind(...list.args)]);
  if (!session.results.length) return null;
  const rows = chats.results as unknown as ChatRow[];
  const more = rows.length > page.limit;
  const shown = rows.slice(0, page.limit);
  const last = shown[shown.length - 1];
  return { rows: shown, next: more && last ? { at: last.sort_key, id: last.chat_id } : null };
}

/** A chat's messages, newest first, after its clear; null when the session is not the account's. */
export async function listChatMessages(
  d1: D1Database,
  accountId: string,
  sessionParam: string,
  chatId: string,
  page: { limit: number; cursor: { createdAt: string; id: string } | null },
): Promise<{ rows: MessageRow[]; next: { createdAt: string; id: string } | null } | null> {
  const args: unknown[] = [accountId, sessionParam, chatId];
  const cursor = page.cursor ? `AND (m.created_at < ?4 OR (m.created_at = ?4 AND m.id < ?5))` : "";
  if (page.cursor) args.push(page.cursor.createdAt, page.cursor.id);
  args.push(page.limit + 1);
  const list = `WITH s AS (${SESSION})
    SELECT m.* FROM messages m
    WHERE m.whatsapp_session_id = (SELECT id FROM s) AND m.chat_key = ?3
      AND m.created_at > coalesce((SELECT cleared_at FROM chats WHERE session_id = (SELECT id FROM s) AND chat_id = ?3), '') ${cursor}
    ORDER BY m.created_at DESC, m.id DESC LIMIT ?${args.length}`;
  const [session, found] = await d1.batch<Record<string, unknown>>([d1.prepare(SESSION).bind(accountId, sessionParam), d1.prepare(list).bind(...args)]);
  if (!session.results.length) return null;
  const rows = found.results.map(fromSql);
  const more = rows.length > page.limit;
  const shown = rows.slice(0, page.limit);
  const last = shown[shown.length - 1];
  return { rows: shown, next: more && last ? { createdAt: last.createdAt, id: last.id } : null };
}

/** What changed about a chat; absent fields are kept. */
export interface ChatChange {
  chatId: string;
  name?: string | null;
  archived?: boolean;
  pinnedAt?: string | null;
  muted?: { until: string | null } | null;
  clearedAt?: string;
}

/** Writes each change (one batch); a chat not stored yet starts unarchived, unpinned, unmuted. */
export async function saveChatChanges(d1: D1Database, sessionId: string, accountId: string, changes: ChatChange[]): Promise<void> {
  if (!changes.length) return;
  const at = now();
  await d1.batch(
    changes.map((c) => {
      const sets: string[] = ["updated_at = excluded.updated_at"];
      if (c.name !== undefined) sets.push("name = excluded.name");
      if (c.archived !== undefined) sets.push("archived = excluded.archived");
      if (c.pinnedAt !== undefined) sets.push("pinned_at = excluded.pinned_at");
      if (c.muted !== undefined) sets.push("muted = excluded.muted", "muted_until = excluded.muted_until");
      if (c.clearedAt !== undefined) sets.push("cleared_at = excluded.cleared_at");
      return d1
        .prepare(
          `INSERT INTO chats (session_id, chat_id, account_id, name, archived, pinned_at, muted, muted_until, cleared_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (session_id, chat_id) DO UPDATE SET ${sets.join(", ")}`,
        )
        .bind(sessionId, c.chatId, accountId, c.name ?? null, c.archived ? 1 : 0, c.pinnedAt ?? null, c.muted ? 1 : 0, c.muted?.until ?? null, c.clearedAt ?? null, at);
    }),
  );
}

/** Incoming messages of a chat not read yet (all, or those with these gateway ids), oldest first. */
export async function unreadIncoming(d1: D1Database, sessionId: string, chatId: string, ids?: string[]): Promise<MessageRow[]> {
  const only = ids?.length ? `AND id IN (${ids.map(() => "?").join(",")})` : "AND read_at IS NULL";
  const found = await d1
    .prepare(
      `SELECT * FROM messages WHERE whatsapp_session_id = ? AND chat_key = ? AND direction = 'incoming' AND provider_message_id IS NOT NULL ${only}
       ORDER BY created_at LIMIT 500`,
    )
    .bind(sessionId, chatId, ...(ids ?? []))
    .all<Record<string, unknown>>();
  return found.results.map(fromSql);
}

/** Marks incoming messages read (all of a chat's when `ids` is absent); answers how many changed. */
export async function markIncomingRead(d1: D1Database, sessionId: string, chatId: string, ids?: string[]): Promise<number> {
  const at = now();
  const only = ids ? `AND id IN (${ids.map(() => "?").join(",") || "''"})` : "";
  const r = await d1
    .prepare(
      `UPDATE messages SET status = 'read', read_at = ?, updated_at = ?
       WHERE whatsapp_session_id = ? AND chat_key = ? AND direction = 'incoming' AND read_at IS NULL ${only}`,
    )
    .bind(at, at, sessionId, chatId, ...(ids ?? []))
    .run();
  return r.meta.changes ?? 0;
}
