// The accept path shared by POST /messages and POST /messages/batch: check a validated send
// against the session, its quoted/reacted message and its media; then debit, count and store
// every row in one D1 transaction, which also re-checks the key and sessions read from the
// isolate cache and claims the Idempotency-Key; then hand the rows to their session or the queue.
import type { AccountRow } from "../db/accounts.repo";
import { database } from "../db/client";
import { payForSends } from "../db/ledger";
import { buildSend, type BuiltSend } from "../db/send-rows";
import { findSessionForSend } from "../db/session-cache";
import { failMessages } from "../db/messages.status";
import { findMessage } from "../db/messages.query";
import { chatOfMessage, type MessageRow } from "../db/messages.rows";
import type { SessionRow } from "../db/sessions.repo";
import { isMediaType } from "../domain/media-policy";
import { documentFilename, normalizeContact } from "../domain/message-types";
import { normalizePhone, normalizeRecipient } from "../domain/phone";
import { planLimits } from "../domain/plans";
import { costOf, remainingMessages, roundMoney, sumCost } from "../domain/ledger";
import { now, secondsUntilNextUtcDay } from "../domain/time";
import type { OutboxItem } from "../domain/outbox-item";
import { enqueueSendJobs, packSendJobs } from "../queues/send.queue";
import { armRecovery } from "../platform/recovery-arm";
import { checkWebhookUrl, privateHostsAllowed } from "../domain/webhook-url";
import { ApiError, type ErrorDetail } from "./errors";
import { forgetIdempotencyKey, storeIdempotent, writeOrReplay } from "./idempotency";
import { keyRefusal } from "./auth";
import type { AcceptGate } from "./accept-gate";
import { probeMedia, type MediaProbe } from "../platform/media-fetch";
import type { SendMessage } from "./messages.schemas";
import { sessionStub } from "../platform/bindings";
import { log } from "../platform/log";

// A scheduled_at less than this far ahead is simply sent now.
const SCHEDULE_MIN_AHEAD_MS = 1000;

/** What the accept batch found changed since it was read (price, plan, a session): read again. */
export class StaleRead extends Error {}

export interface PreparedSend extends BuiltSend {
  session: SessionRow;
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

/**
 * Checks one validated send and builds its rows and outbox items; throws ApiError. The session
 * may come from this isolate's cache (the accept batch re-checks it). A repeat of a stored
 * Idempotency-Key request stops (`gate`) before any lookup or media fetch.
 */
export async function prepareSend(
  env: Env,
  account: AccountRow,
  body: SendMessage,
  gate: AcceptGate | null = null,
  mediaCache = new Map<string, Promise<MediaProbe>>(),
): Promise<PreparedSend> {
  const cached = gate?.ctx.cached ?? false;
  const session = await findSessionForSend(database(env), account.id, body.whatsapp_session_id, cached);
  if (!session) {
    throw new ApiError(404, "not_found", "Session not found.", [{ field: "whatsapp_session_id", in: "body", code: "not_found", message: "No such session in this account." }]);
  }
  if (session.status !== "connected") {
    throw new ApiError(409, "session_not_connected", `The session is ${session.status}; it must be connected to send.`, [
      { field: "whatsapp_session_id", in: "body", code: "session_not_connected", message: `The session is ${session.status}.` },
    ]);
  }
  // A group id is one recipient (one row, one charge); WhatsApp fans it out to the members.
  const recipients = [...new Set(body.to_number.map((n) => normalizeRecipient(n)!))];
  if (body.callback_url) {
    // The same rules as a webhook URL, checked now rather than dead-lettered later.
    const check = checkWebhookUrl(body.callback_url, { allowPrivate: privateHostsAllowed(env) });
    if (!check.ok) throw invalid("callback_url", check.message);
  }

  const payload: Record<string, unknown> = {};
  if (body.reply_to || body.reaction) await gate?.repeat();
  if (body.reply_to) {
    const quoted = await quotedTarget(env, account.id, session, body.reply_to, "reply_to");
    payload.reply_to = quoted.id;
    payload.quoted = { provider_message_id: quoted.providerMessageId, from_me: quoted.direction === "outgoing", chat: chatOfMessage(quoted), type: quoted.type, content: quoted.content };
  }
  if (body.reaction) {
    const target = await quotedTarget(env, account.id, session, body.reaction.message_id, "reaction.message_id");
    if (chatOfMessage(target) !== recipients[0]) throw invalid("to_number.0", `The message to react to is in the chat with ${chatOfMessage(target)}.`);
    payload.reaction = { ...body.reaction, provider_message_id: target.providerMessageId, from_me: target.direction === "outgoing" };
  }
  if (isMediaType(body.type) && body.media_url) {
    // Only for a key known good: the fetch reaches the client's URL.
    await gate?.settle();
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
  // The session resolves the members when it sends (the list may change until then).
  if (body.mention_all) payload.mention_all = true;

  const scheduledMs = body.scheduled_at ? Date.parse(body.scheduled_at) : null;
  const scheduled = scheduledMs !== null && scheduledMs > Date.now() + SCHEDULE_MIN_AHEAD_MS;
  const sender = { accountId: account.id, sessionId: session.id, fromNumber: session.phoneNumber, cost: account.messageCost };
  const built = buildSend(
    sender,
    {
      type: body.type,
      content: body.content,
      mediaUrl: body.media_url,
      payload: Object.keys(payload).length ? payload : null,
      idempotencyKey: gate?.idem?.key ?? null,
      callbackUrl: body.callback_url,
      callbackData: body.callback_data,
      delayBetweenMs: body.delay_between,
      scheduledAtMs: scheduled ? scheduledMs : null,
    },
    recipients,
    now(),
  );
  return { session, ...built };
}

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
  gate: AcceptGate,
  sends: PreparedSend[],
  render: (balance: number, remaining: number | null) => Rendered,
): Promise<Response> {
  const db = database(env);
  const { idem } = gate;
  const ctx = gate.ctx;
  let account = ctx.account;
  const count = sends.reduce((n, s) => n + s.rows.length, 0);
  const totalCost = costOf(count, account.messageCost);
  const remaining = (balance: number) => remainingMessages(balance, account.messageCost);

  if (sends.length === 0) {
    // Nothing to store (every batch item was rejected): the key is checked (and the balance
    // read) first, a repeat gets its stored answer, else the answer alone is remembered.
    account = await gate.settle();
    const answer = render(account.balance, remaining(account.balance));
    if (idem) await storeIdempotent(db, account.id, idem, answer.status, answer.body, now());
    return Response.json(answer.body, { status: answer.status });
  }

  const template = render(0, 0);
  const dailyLimit = planLimits(account.plan, env.PLANS).daily_messages;
  const sessions = [...new Map(sends.map((s) => [s.session.id, { id: s.session.id, phoneNumber: s.session.phoneNumber }])).values()];
  const write = () =>
    payForSends(db, {
      accountId: account.id,
      messageCost: account.messageCost,
      totalCost,
      count,
      dailyLimit,
      sends: sends.map((s) => ({ campaign: s.campaign, messages: s.rows })),
      // The key, the price and plan the rows carry, and each session, as read before: the
      // batch writes only if they still hold (they may come from this isolate's cache).
      guards: { keyId: ctx.key?.id, account: { messageCost: account.messageCost, plan: account.plan }, sessions },
      idempotency: idem ? { ...idem, statusCode: template.status, response: JSON.stringify(template.body) } : undefined,
    });
  // The claim of the Idempotency-Key conflicts only when the batch's checks passed (its insert is
  // gated like every write): a repeat, or a concurrent twin that won, answered as it was.
  const result = await writeOrReplay(db, account.id, idem, write, gate.stored);
  if (result instanceof Response) return result;
  if (!result.accepted) {
    if (result.reason === "invalid_api_key" || result.reason === "revoked_api_key") throw keyRefusal(result.reason, ctx.key?.id);
    if (result.reason === "stale") throw new StaleRead();
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
    throw new Error(`accept batch refused: ${result.reason}`); // account_not_found: only without a key
  }
  let balance = result.balance;

  // Sends go straight to their session's outbox, campaigns too: the queue's batch wait would
  // add about a second before the first message. What a session does not take (its object
  // failed, or more than one call should carry) goes through the send queue. Never leave an
  // accepted message that nothing will send: what the queue refuses fails now.
  const bySession = groupBySession(sends);
  // Recovery is armed for the accepted rows alongside the hand-off, not after it (no extra trip;
  // the call is skipped while this isolate knows the alarm is set).
  const [handed] = await Promise.all([handToSessions(env, bySession), armRecovery(env)]);
  const jobs = [...bySession].flatMap(([sessionId, items]) => packSendJobs(sessionId, items.filter((i) => !handed.has(i.messageId))));
  const { enqueuedIds, failedIds } = jobs.length ? await enqueueSendJobs(env, jobs) : { enqueuedIds: [], failedIds: [] };
  if (failedIds.length > 0) {
    // A hand-off or queue send that threw may still have reached the outbox (and been acked):
    // only what the session object releases is failed; the rest it sends (or the sweep adopts).
    const failable = await releaseUnsent(env, bySession, failedIds);
    const failed = await failMessages(db, failable, "queue_unavailable");
    if (enqueuedIds.length === 0 && handed.size === 0 && failed.length === failedIds.length) {
      if (idem) await forgetIdempotencyKey(db, account.id, idem.key);
      throw new ApiError(503, "queue_unavailable", "The send queue is unavailable; nothing was sent or charged. Retry later.");
    }
    const failedSet = new Set(failed.map((r) => r.id));
    for (const send of sends) for (const row of send.rows) if (failedSet.has(row.id)) Object.assign(row, { status: "failed", reason: "queue_unavailable" });
    balance = roundMoney(balance + sumCost(failed));
    const answer = render(balance, remaining(balance));
    if (idem) await storeIdempotent(db, account.id, idem, answer.status, answer.body, now());
    return Response.json(answer.body, { status: answer.status });
  }
  const answer = render(balance, remaining(balance));
  return Response.json(answer.body, { status: answer.status });
}

// One request's messages for one session, at most, handed to its object in one call (a
// 1,000-recipient campaign is about 300 KB). Larger batches go through the queue.
const DIRECT_HANDOFF_MAX = 1000;

/** Ids of the messages their session object took; a session that fails is left to the queue. */
async function handToSessions(env: Env, bySession: Map<string, OutboxItem[]>): Promise<Set<string>> {
  const handed = new Set<string>();
  await Promise.all(
    [...bySession].filter(([, items]) => items.length <= DIRECT_HANDOFF_MAX).map(async ([sessionId, items]) => {
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

/** Of `ids`, those their session objects released (never acked, never to be sent); an unreachable object keeps its own. */
async function releaseUnsent(env: Env, bySession: Map<string, OutboxItem[]>, ids: string[]): Promise<string[]> {
  const wanted = new Set(ids);
  const released = await Promise.all(
    [...bySession].map(async ([sessionId, items]) => {
      const mine = items.map((i) => i.messageId).filter((id) => wanted.has(id));
      if (mine.length === 0) return [];
      return sessionStub(env, sessionId)
        .releaseUnsent(mine, "queue_unavailable")
        .catch((err: unknown) => (log.warn({ session: sessionId, err }, "outbox release failed; the recovery sweep settles them"), [] as string[]));
    }),
  );
  return released.flat();
}

function groupBySession(sends: PreparedSend[]): Map<string, OutboxItem[]> {
  const map = new Map<string, OutboxItem[]>();
  for (const send of sends) map.set(send.session.id, [...(map.get(send.session.id) ?? []), ...send.items]);
  return map;
}
