// The session object's status flush (session/status-flush.ts): many status changes and their
// webhook deliveries in a few D1 batches (two statements per change). Statements are prepared once per D1 binding and re-bound
// per change. Every statement is idempotent, so a re-flush after a crash changes nothing twice:
// updates are guarded by the current status, deliveries have ids derived from event and webhook
// (INSERT OR IGNORE), and a delivery row is written only when the row shows this change
// happened (its provider id and exact time), whether now or in an earlier, unconfirmed flush.

export type StatusKind = "sent" | "delivered" | "read";

/** One change of one message, as the object journaled it. `at`: ISO time of the ack or receipt. */
export interface StatusChange {
  messageId: string;
  kind: StatusKind;
  waId: string;
  at: string;
}

/** What one change's deliveries share: its event. `createdAt` is the change's own time. */
export interface DeliveryEvent {
  eventId: string;
  eventType: string;
  createdAt: string;
  chatId: string;
  chatType: "group" | "contact";
}

/** One delivery of an event: its id, and its webhook (null: the message's own callback_url). */
export interface DeliveryTarget {
  id: string;
  hook: string | null;
}

/** A webhook of the account as the flush sees it (enabled ones only). */
export interface HookRecord {
  id: string;
  whatsappSessionId: string | null;
  events: string[];
  filters: Record<string, unknown> | null;
  updatedAt: string;
}

const UPDATE_SQL: Record<StatusKind, string> = {
  sent: "UPDATE messages SET status = 'sent', provider_message_id = ?2, sent_at = ?3, updated_at = ?4 WHERE id = ?1 AND status IN ('queued', 'scheduled')",
  delivered:
    "UPDATE messages SET status = 'delivered', delivered_at = ?3, updated_at = ?4 WHERE id = ?1 AND provider_message_id = ?2 AND direction = 'outgoing' AND status = 'sent'",
  read: "UPDATE messages SET status = 'read', read_at = ?3, delivered_at = coalesce(delivered_at, ?3), updated_at = ?4 WHERE id = ?1 AND provider_message_id = ?2 AND direction = 'outgoing' AND status IN ('sent', 'delivered')",
};

// The row shows this change happened (now or in an earlier flush whose answer was lost).
const HAPPENED = `(CASE ?9
  WHEN 'sent' THEN m.provider_message_id = ?7 AND m.sent_at = ?8 AND m.status IN ('sent', 'delivered', 'read')
  WHEN 'delivered' THEN m.provider_message_id = ?7 AND m.delivered_at = ?8 AND m.status IN ('delivered', 'read')
  ELSE m.provider_message_id = ?7 AND m.read_at = ?8 AND m.status = 'read' END)
  AND NOT (coalesce(json_extract(m.metadata, '$.bot'), 0) = 1 AND coalesce(json_extract(m.metadata, '$.webhook'), 1) = 0)`;

// The body of a message event, field for field as events/message-events.ts messageEventData
// builds it (same keys, same order). The status fields are the change's own (the row as that
// change left it), so every delivery of one event carries the same body, whenever it is written.
const PAYLOAD_SQL = `json_object('id', ?2, 'type', ?3, 'created_at', ?4, 'account_id', m.account_id, 'session_id', m.whatsapp_session_id,
    'data', json_object('id', m.id, 'provider_message_id', m.provider_message_id, 'chat_id', ?10, 'chat_type', ?11,
      'from_me', json(CASE m.direction WHEN 'outgoing' THEN 'true' ELSE 'false' END), 'direction', m.direction, 'type', m.type,
      'from_number', m.from_number, 'to_number', m.to_number, 'from_lid', m.from_lid, 'chat_lid', m.chat_lid,
      'content', m.content, 'status', ?9, 'reason', m.reason,
      'campaign_id', m.campaign_id, 'sent_at', m.sent_at,
      'delivered_at', CASE ?9 WHEN 'sent' THEN NULL WHEN 'delivered' THEN ?8 ELSE coalesce(m.delivered_at, ?8) END,
      'read_at', CASE ?9 WHEN 'read' THEN ?8 ELSE NULL END,
      'created_at', m.created_at, 'updated_at', m.updated_at))`;

const DELIVERY_COLUMNS = "(id, account_id, webhook_id, url, event_id, event_type, payload, status, attempts, generation, next_attempt_at, created_at, updated_at)";

// All deliveries of one change in one statement: ?1 is a JSON list of {id, hook} (hook null:
// the message's callback_url, written only when it has one). A webhook must still exist and be
// enabled when the batch runs (a deleted one gets nothing). RETURNING: the rows new now.
const DELIVERIES_SQL = `INSERT OR IGNORE INTO webhook_deliveries ${DELIVERY_COLUMNS}
  SELECT json_extract(d.value, '$.id'), m.account_id, w.id, coalesce(w.url, m.callback_url), ?2, ?3,
    CASE WHEN w.id IS NULL THEN json_set(${PAYLOAD_SQL}, '$.data.callback_data', m.callback_data) ELSE ${PAYLOAD_SQL} END,
    'pending', 0, 0, ?12, ?12, ?12
  FROM json_each(?1) AS d JOIN messages AS m ON m.id = ?6
  LEFT JOIN webhooks AS w ON w.id = json_extract(d.value, '$.hook') AND w.account_id = m.account_id AND w.enabled = 1
  WHERE (w.id IS NOT NULL OR (json_extract(d.value, '$.hook') IS NULL AND m.callback_url IS NOT NULL)) AND ${HAPPENED}
  RETURNING id`;

// A `sent` that changed nothing: already flushed, or failed meanwhile (which must not happen).
const FAILED_SQL = "SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?)) AND status = 'failed'";

const HOOKS_SQL = "SELECT id, whatsapp_session_id, events, filters, updated_at FROM webhooks WHERE account_id = ? AND enabled = 1 ORDER BY id";

const PENDING_SQL = "SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?)) AND status IN ('queued', 'scheduled')";

class Prepared {
  readonly update: Record<StatusKind, D1PreparedStatement>;
  readonly deliveries: D1PreparedStatement;
  readonly failed: D1PreparedStatement;
  readonly hooks: D1PreparedStatement;
  readonly pending: D1PreparedStatement;

  constructor(d1: D1Database) {
    this.update = { sent: d1.prepare(UPDATE_SQL.sent), delivered: d1.prepare(UPDATE_SQL.delivered), read: d1.prepare(UPDATE_SQL.read) };
    this.deliveries = d1.prepare(DELIVERIES_SQL);
    this.failed = d1.prepare(FAILED_SQL);
    this.hooks = d1.prepare(HOOKS_SQL);
    this.pending = d1.prepare(PENDING_SQL);
  }
}

const prepared = new WeakMap<D1Database, Prepared>();

/** The hot statements of this binding, built once. */
export function flushStatements(d1: D1Database): Prepared {
  let p = prepared.get(d1);
  if (!p) prepared.set(d1, (p = new Prepared(d1)));
  return p;
}

export function updateStatement(p: Prepared, change: StatusChange, at: string): D1PreparedStatement {
  return p.update[change.kind].bind(change.messageId, change.waId, change.at, at);
}

/** All of one change's deliveries (same event); `at`: when the rows are written (their first attempt is due then). */
export function deliveriesStatement(p: Prepared, change: StatusChange, event: DeliveryEvent, targets: DeliveryTarget[], at: string): D1PreparedStatement {
  const c = change;
  return p.deliveries.bind(JSON.stringify(targets), event.eventId, event.eventType, event.createdAt, null, c.messageId, c.waId, c.at, c.kind, event.chatId, event.chatType, at);
}

export function failedStatement(p: Prepared, ids: string[]): D1PreparedStatement {
  return p.failed.bind(JSON.stringify(ids));
}

export function hooksStatement(p: Prepared, accountId: string): D1PreparedStatement {
  return p.hooks.bind(accountId);
}

export function hookRecords(rows: Record<string, unknown>[]): HookRecord[] {
  return rows.map((r) => ({
    id: String(r.id),
    whatsappSessionId: (r.whatsapp_session_id as string | null) ?? null,
    events: JSON.parse(String(r.events)) as string[],
    filters: r.filters ? (JSON.parse(String(r.filters)) as Record<string, unknown>) : null,
    updatedAt: String(r.updated_at),
  }));
}

export function pendingStatement(p: Prepared, ids: string[]): D1PreparedStatement {
  return p.pending.bind(JSON.stringify(ids));
}
