// The accept path shared by POST /messages and POST /messages/batch: check a validated send
// against the session, its quoted/reacted message and its media; then debit, count and store
// every row in one D1 transaction; then hand the rows to the send queue.
import type { AccountRow } from "../db/accounts.repo";
import { database } from "../db/client";
import { acceptSends } from "../db/messages.accept";
import { failMessages } from "../db/messages.status";
import { findMessage } from "../db/messages.query";
import { type CampaignRow, type MessageRow } from "../db/messages.rows";
import { findSession, type SessionRow } from "../db/sessions.repo";
import { isMediaType } from "../domain/media-policy";
import { documentFilename, normalizeContact } from "../domain/message-types";
import { normalizePhone } from "../domain/phone";
import { planLimits, remainingMessages } from "../domain/plans";
import { now, secondsUntilNextUtcDay, toTimestamp } from "../domain/time";
import type { OutboxItem } from "../domain/outbox-item";
import { enqueueSendJobs, packSendJobs } from "../queues/send.queue";
import { checkWebhookUrl, privateHostsAllowed } from "../domain/webhook-url";
import { ApiError, type ErrorDetail } from "./errors";
import { forgetIdempotencyKey, storeIdempotent, writeOrReplay, type IdempotencyContext } from "./idempotency";
import { probeMedia, type MediaProbe } from "../platform/media-fetch";
import type { SendMessage } from "./messages.schemas";
import { sessionStub } from "../platform/bindings";
import { log } from "../platform/log";
import { withRetries } from "../platform/retry";

// A scheduled_at less than this far ahead is simply sent now.
const SCHEDULE_MIN_AHEAD_MS = 1000;
const MAX_CONTENDED_ATTEMPTS = 3;

export interface PreparedSend {
  session: SessionRow;
  campaign: CampaignRow;
  rows: MessageRow[];
  items: OutboxItem[];
}

const invalid = (field: string, message: string, code = "invalid") =>
  new ApiError(422, "validation_failed", "The request is invalid.", [{ field, in: "body", code, message }]);

/** Rejection reasons of an error thrown while preparing one send (batch results). */
export function errorReasons(error: unknown, prefix: string): { field?: string; code: string; message: string }[] {
  if (!(error instanceof ApiError)) throw error;
  const details = Array.isArray(error.details) ? (error.details as ErrorDetail[]) : [];
  if (details.length === 0) return [{ code: error.code, message: error.message }];
  return details.map((d) => ({ field: d.field ? `${prefix}${d.field}` : undefined, code: d.code ?? error.code, message: d.message }));
}

async function quotedTarget(env: Env, accountId: string, session: SessionRow, id: string, field: string): Promise<MessageRow> {
  const target = await findMessage(database(env), accountId, id);
  if (!target || target.whatsappSessionId !== session.id) throw invalid(field, "No message with this id in this session.", "not_found");
  if (!target.providerMessageId) throw invalid(field, "This message has no WhatsApp id yet (not sent).", "not_sent");
  return target;
}

const chatOf = (m: MessageRow) => (m.direction === "outgoing" ? m.toNumber : m.fromNumber);

/** Checks one validated send and builds its rows and outbox items; throws ApiError. */
export async function prepareSend(
  env: Env,
  account: AccountRow,
  body: SendMessage,
  idempotencyKey: string | null,
  mediaCache = new Map<string, Promise<MediaProbe>>(),
): Promise<PreparedSend> {
  const session = await findSession(database(env), account.id, body.whatsapp_session_id);
  if (!session) {
    throw new ApiError(404, "not_found", "Session not found.", [{ field: "whatsapp_session_id", in: "body", code: "not_found", message: "No such session in this account." }]);
  }
  if (session.status !== "connected") {
    throw new ApiError(409, "session_not_connected", `The session is ${session.status}; it must be connected to send.`, [
      { field: "whatsapp_session_id", in: "body", code: "session_not_connected", message: `The session is ${session.status}.` },
    ]);
  }
  const recipients = [...new Set(body.to_number.map((n) => normalizePhone(n)!))];
  if (body.callback_url) {
    // The same rules as a webhook URL, checked now rather than dead-lettered later.
    const check = checkWebhookUrl(body.callback_url, { allowPrivate: privateHostsAllowed(env) });
    if (!check.ok) throw invalid("callback_url", check.message);
  }

  const payload: Record<string, unknown> = {};
  if (body.reply_to) {
    const quoted = await quotedTarget(env, account.id, session, body.reply_to, "reply_to");
    payload.reply_to = quoted.id;
    payload.quoted = { provider_message_id: quoted.providerMessageId, from_me: quoted.direction === "outgoing", chat: chatOf(quoted), type: quoted.type, content: quoted.content };
  }
  if (body.reaction) {
    const target = await quotedTarget(env, account.id, session, body.reaction.message_id, "reaction.message_id");
    if (chatOf(target) !== recipients[0]) throw invalid("to_number.0", `The message to react to is in the chat with ${chatOf(target)}.`);
    payload.reaction = { ...body.reaction, provider_message_id: target.providerMessageId, from_me: target.direction === "outgoing" };
  }
  if (isMediaType(body.type) && body.media_url) {
    const cacheKey = `${body.type} ${body.media_url}`;
    let probe = mediaCache.get(cacheKey);
    if (!probe) mediaCache.set(cacheKey, (probe = probeMedia(env, body.type, body.media_url)));
    Object.assign(payload, await probe);
  }
  if (body.type === "document") payload.filename = documentFilename(body.media_url!, body.filename);
  if (body.ptt !== undefined) payload.ptt = body.ptt;
  if (body.location) Object.assign(payload, body.location);
  if (body.contacts) payload.contacts = body.contacts.map(normalizeContact);
  if (body.poll) payload.poll = body.poll;
  if (body.mentions) payload.mentions = [...new Set(body.mentions.map((n) => normalizePhone(n)!))];

  const at = now();
  const scheduledMs = body.scheduled_at ? Date.parse(body.scheduled_at) : null;
  const scheduled = scheduledMs !== null && scheduledMs > Date.now() + SCHEDULE_MIN_AHEAD_MS;
  const scheduledAt = scheduled ? toTimestamp(scheduledMs) : null;
  const campaign: CampaignRow = {
    id: crypto.randomUUID(),
    accountId: account.id,
    whatsappSessionId: session.id,
    type: body.type,
    total: recipients.length,
    delayBetween: body.delay_between,
    scheduledAt,
    createdAt: at,
    updatedAt: at,
  };
  const storedPayload = Object.keys(payload).length ? payload : null;
  const rows: MessageRow[] = recipients.map((to) => ({
    id: crypto.randomUUID(),
    accountId: account.id,
    whatsappSessionId: session.id,
    campaignId: campaign.id,
    otpId: null,
    providerMessageId: null,
    fromNumber: session.phoneNumber,
    toNumber: to,
    type: body.type,
    content: body.content ?? null,
    mediaUrl: body.media_url ?? null,
    payload: storedPayload,
    status: scheduled ? "scheduled" : "queued",
    direction: "outgoing",
    reason: null,
    cost: account.messageCost,
    metadata: null,
    idempotencyKey,
    callbackUrl: body.callback_url ?? null,
    callbackData: body.callback_data ?? null,
    scheduledAt,
    sentAt: null,
    deliveredAt: null,
    readAt: null,
    createdAt: at,
    updatedAt: at,
  }));
  const items: OutboxItem[] = rows.map((row) => ({
    messageId: row.id,
    accountId: account.id,
    to: row.toNumber,
    type: body.type,
    content: row.content,
    mediaUrl: row.mediaUrl,
    payload: storedPayload,
    campaignId: campaign.id,
    delayBetweenMs: body.delay_between,
    scheduledAt: scheduled ? scheduledMs : null,
  }));
  return { session, campaign, rows, items };
}

const roundMoney = (x: number) => Math.round(x * 1e6) / 1e6;

export interface Rendered {
  status: number;
  body: Record<string, unknown> & { data: Record<string, unknown> };
}

/**
 * Stores the sends in one transaction (or nothing: 402, 429), enqueues them, and answers with
 * `render(new_balance, remaining_messages)`. With an Idempotency-Key the answer is stored in
 * the same transaction.
 */
export async function commitSends(
  env: Env,
  account: AccountRow,
  sends: PreparedSend[],
  idem: IdempotencyContext | null,
  render: (balance: number, remaining: number | null) => Rendered,
): Promise<Response> {
  const db = database(env);
  const count = sends.reduce((n, s) => n + s.rows.length, 0);
  const totalCost = roundMoney(count * account.messageCost);
  const remaining = (balance: number) => remainingMessages(balance, account.messageCost);

  if (sends.length === 0) {
    // Nothing to store (every batch item was rejected): the answer alone is remembered.
    const balance = account.balance;
    const answer = render(balance, remaining(balance));
    if (idem) await storeIdempotent(db, account.id, idem, answer.status, answer.body, now());
    return Response.json(answer.body, { status: answer.status });
  }

  const template = render(0, 0);
  const dailyLimit = planLimits(account.plan, env.PLANS).daily_messages;
  // A lost race on the balance or the daily count ("contended") is tried again a few times.
  const result = await withRetries(
    () =>
      writeOrReplay(db, account.id, idem, () =>
        acceptSends(db, {
          accountId: account.id,
          messageCost: account.messageCost,
          totalCost,
          count,
          dailyLimit,
          sends: sends.map((s) => ({ campaign: s.campaign, messages: s.rows })),
          idempotency: idem ? { ...idem, statusCode: template.status, response: JSON.stringify(template.body) } : undefined,
        }),
      ),
    { attempts: MAX_CONTENDED_ATTEMPTS, retryResult: (r) => !(r instanceof Response) && !r.accepted && r.reason === "contended" },
  );
  // A concurrent request with the same key won the insert: answered as it was.
  if (result instanceof Response) return result;
  if (!result.accepted) {
    if (result.reason === "insufficient_balance") {
      throw new ApiError(402, "insufficient_balance", `Sending ${count} message(s) costs ${totalCost}; your balance does not cover it.`, {
        required: totalCost,
        message_cost: account.messageCost,
        count,
      });
    }
    if (result.reason === "daily_limit_reached") {
      const retryAfter = secondsUntilNextUtcDay();
      throw new ApiError(
        429,
        "daily_limit_reached",
        `Your ${account.plan} plan allows ${dailyLimit} messages a day; this request would pass it.`,
        { daily_limit: dailyLimit, requested: count, retry_after: retryAfter },
        { "Retry-After": String(retryAfter) },
      );
    }
    throw new ApiError(409, "concurrent_update", "The account changed while this request was processed; retry it.");
  }
  let balance = result.balance;

  // Small sends (OTPs, notifications) go straight to their session's outbox: the queue's batch
  // wait would add about a second. Bulk sends, and anything the session refuses, go through
  // the send queue. Never leave an accepted message that nothing will send: what the queue
  // refuses fails now.
  const bySession = groupBySession(sends);
  const handed = count <= DIRECT_HANDOFF_MAX ? await handToSessions(env, bySession) : new Set<string>();
  const jobs = [...bySession].flatMap(([sessionId, items]) => packSendJobs(sessionId, items.filter((i) => !handed.has(i.messageId))));
  const { enqueuedIds, failedIds } = await enqueueSendJobs(env, jobs);
  if (failedIds.length > 0) {
    const failed = await failMessages(db, failedIds, "queue_unavailable");
    if (enqueuedIds.length === 0) {
      if (idem) await forgetIdempotencyKey(db, account.id, idem.key);
      throw new ApiError(503, "queue_unavailable", "The send queue is unavailable; nothing was sent or charged. Retry later.");
    }
    const failedSet = new Set(failed.map((r) => r.id));
    for (const send of sends) for (const row of send.rows) if (failedSet.has(row.id)) Object.assign(row, { status: "failed", reason: "queue_unavailable" });
    balance = roundMoney(balance + failed.reduce((sum, r) => sum + r.cost, 0));
    const answer = render(balance, remaining(balance));
    if (idem) await storeIdempotent(db, account.id, idem, answer.status, answer.body, now());
    return Response.json(answer.body, { status: answer.status });
  }
  const answer = render(balance, remaining(balance));
  return Response.json(answer.body, { status: answer.status });
}

const DIRECT_HANDOFF_MAX = 20;

/** Ids of the messages their session object took; a session that fails is left to the queue. */
async function handToSessions(env: Env, bySession: Map<string, OutboxItem[]>): Promise<Set<string>> {
  const handed = new Set<string>();
  await Promise.all(
    [...bySession].map(async ([sessionId, items]) => {
      try {
        await sessionStub(env, sessionId).enqueue(items);
        for (const item of items) handed.add(item.messageId);
      } catch (err) {
        log.warn({ session: sessionId, err }, "direct hand-off failed; using the send queue");
      }
    }),
  );
  return handed;
}

function groupBySession(sends: PreparedSend[]): Map<string, OutboxItem[]> {
  const map = new Map<string, OutboxItem[]>();
  for (const send of sends) map.set(send.session.id, [...(map.get(send.session.id) ?? []), ...send.items]);
  return map;
}
