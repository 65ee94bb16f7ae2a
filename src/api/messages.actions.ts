// What the message routes do below their handlers: list with filters and a cursor, and delete a
// sent message for everyone (revoke).
import { database } from "../db/client";
import { findMessage, listMessages, type MessageFilters } from "../db/messages.query";
import { markMessageRevoked } from "../db/messages.status";
import { findSession } from "../db/sessions.repo";
import { decodeCursor, encodeCursor } from "../domain/cursor";
import { normalizePhone, normalizeRecipient } from "../domain/phone";
import { now, toTimestamp } from "../domain/time";
import { sessionStub } from "../platform/bindings";
import { conflict, notFound, unprocessable, type ErrorDetail } from "./errors";
import type { ListMessagesQueryT } from "./messages.schemas";
import { callObject } from "./object-call";
import { presentMessage } from "./presenters";

const REVOCABLE = new Set(["sent", "delivered", "read"]);

async function listFilters(env: Env, accountId: string, query: ListMessagesQueryT, sessionParam?: string): Promise<MessageFilters> {
  const issues: ErrorDetail[] = [];
  const phone = (value: string, field: string) => {
    const n = normalizePhone(value);
    if (!n) issues.push({ field, in: "query", message: "Not a valid phone number in international format." });
    return n ?? "";
  };
  const f = query.filter ?? {};
  const to = f.to_number === undefined ? undefined : Array.isArray(f.to_number) ? f.to_number : [f.to_number];
  const filters: MessageFilters = {
    // A group id finds what was sent into that group.
    toNumbers: to?.map((n, i) => normalizeRecipient(n) ?? phone(n, `filter.to_number.${i}`)),
    fromNumber: f.from_number ? phone(f.from_number, "filter.from_number") : undefined,
    status: f.status,
    direction: f.direction,
    type: f.type,
    campaignId: f.campaign_id,
    timeFrom: query.time_from ? toTimestamp(Date.parse(query.time_from)) : undefined,
    timeTo: query.time_to ? toTimestamp(Date.parse(query.time_to)) : undefined,
  };
  if (issues.length) throw unprocessable(issues);
  const sessionRef = sessionParam ?? query.session_id;
  if (sessionRef) {
    const session = await findSession(database(env), accountId, sessionRef);
    if (!session) throw notFound("Session");
    filters.sessionUuid = session.id;
  }
  return filters;
}

/** A page of the account's messages (or one session's), newest first. */
export async function messagesPage(env: Env, accountId: string, query: ListMessagesQueryT, sessionParam?: string) {
  const filters = await listFilters(env, accountId, query, sessionParam);
  const cursor = query.cursor ? decodeCursor(query.cursor) : null;
  if (query.cursor && !cursor) throw unprocessable([{ field: "cursor", in: "query", message: "Not a cursor returned by this API." }]);
  const { rows, next } = await listMessages(database(env), accountId, filters, { limit: query.limit, cursor });
  return { data: rows.map(presentMessage), meta: { count: rows.length, limit: query.limit, next_cursor: next ? encodeCursor(next) : null } };
}

/** Revokes a sent outgoing message on WhatsApp; a message already revoked is answered as it is. */
export async function revokeMessage(env: Env, accountId: string, id: string) {
  const db = database(env);
  const row = await findMessage(db, accountId, id);
  if (!row) throw notFound("Message");
  if (row.metadata?.revoked_at) return presentMessage(row);
  if (row.direction !== "outgoing" || !REVOCABLE.has(row.status) || !row.providerMessageId) {
    throw conflict("message_not_revocable", `Only sent outgoing messages can be deleted for everyone; this one is ${row.direction} and ${row.status}.`, {
      status: row.status,
      direction: row.direction,
    });
  }
  const session = await findSession(db, accountId, row.whatsappSessionId);
  if (session?.status !== "connected") {
    throw conflict("session_not_connected", `The session is ${session?.status ?? "deleted"}; it must be connected to delete a message.`);
  }
  const stub = sessionStub(env, session.id);
  await callObject(() => stub.revoke(row.toNumber, row.providerMessageId!), { 409: "session_not_connected" });
  return presentMessage((await markMessageRevoked(db, row.id, now())) ?? row);
}
