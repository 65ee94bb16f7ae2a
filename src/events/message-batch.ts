// Status changes of sent messages, many at a time: a few D1 batches (MAX_STATEMENTS each) carry
// their status updates, their `webhook_deliveries` rows (one INSERT per change) and a fresh read
// of the account's webhooks, then queue sends (100 a call) wake the new deliveries. Used by the session
// object's status flush (session/status-flush.ts); single events still go through emit.ts.
//
// Subscribers come from a cache (HookCache) kept by the caller. The first batch re-reads the
// enabled webhooks: when they differ from the cache, the cache is replaced and the changes get
// the deliveries of the new or changed webhooks in one more pass. So a webhook enabled when a
// flush runs gets its events; a deleted or disabled one gets nothing (the INSERT joins the live
// webhook row).
import {
  deliveriesStatement,
  failedStatement,
  flushStatements,
  hookRecords,
  hooksStatement,
  pendingStatement,
  updateStatement,
  type DeliveryEvent,
  type DeliveryTarget,
  type HookRecord,
  type StatusChange,
  type StatusKind,
} from "../db/messages.flush";
import { chatJid } from "../domain/phone";
import { now } from "../domain/time";
import { wantsEvent, type WebhookEventType, type WebhookFilters } from "../domain/webhook-events";
import { armRecovery } from "../platform/recovery-arm";
import { log } from "../platform/log";
import { deliveryIdFor, wakeDeliveries, type EmitEnv } from "./emit";
import { messageEventId } from "./message-events";

/** A journaled change with the message's recipient and type (for webhook filters). */
export interface MessageChange extends StatusChange {
  to: string;
  type: string;
}

/** The account's enabled webhooks as last read; null until the first read. */
export class HookCache {
  hooks: HookRecord[] | null = null;
}

const EVENT_OF: Record<StatusKind, WebhookEventType> = { sent: "message.sent", delivered: "message.delivered", read: "message.read" };

/** The change's event, and its deliveries to those of `hooks` that want it (and the callback). */
async function deliveriesOf(change: MessageChange, sessionId: string, hooks: HookRecord[], callback: boolean): Promise<{ event: DeliveryEvent; targets: DeliveryTarget[] }> {
  const type = EVENT_OF[change.kind];
  const eventId = messageEventId(change.messageId, type);
  const chatId = chatJid(change.to);
  const chatType = change.to.endsWith("@g.us") ? "group" : "contact";
  const subject = { chat_id: chatId, chat_type: chatType, type: change.type, from_me: true, direction: "outgoing" };
  const wanted = hooks.filter((h) =>
    wantsEvent({ enabled: true, whatsappSessionId: h.whatsappSessionId, events: h.events, filters: h.filters as WebhookFilters | null }, { type, sessionId, data: subject }),
  );
  const hookIds: (string | null)[] = wanted.map((h) => h.id);
  if (callback) hookIds.push(null);
  const targets = await Promise.all(hookIds.map(async (hook) => ({ id: await deliveryIdFor(eventId, hook), hook })));
  return { event: { eventId, eventType: type, createdAt: change.at, chatId, chatType }, targets };
}

function sameHooks(a: HookRecord[], b: HookRecord[]): boolean {
  return a.length === b.length && a.every((h, i) => h.id === b[i].id && h.updatedAt === b[i].updatedAt);
}

/** Of these message ids, those still `queued`/`scheduled` in D1; reads the webhooks too when the cache is empty. One trip. */
export async function pendingAndHooks(env: Pick<Env, "DB">, accountId: string, cache: HookCache, ids: string[]): Promise<Set<string>> {
  const p = flushStatements(env.DB);
  const statements = [pendingStatement(p, ids)];
  if (cache.hooks === null) statements.push(hooksStatement(p, accountId));
  const [pending, hooks] = await env.DB.batch<Record<string, unknown>>(statements);
  if (hooks) cache.hooks = hookRecords(hooks.results);
  return new Set(pending.results.map((r) => String(r.id)));
}

// D1 runs a batch as one transaction; kept well under its per-invocation query limits.
const MAX_STATEMENTS = 100;

/**
 * Writes the changes (in order) and their deliveries, in batches of at most MAX_STATEMENTS
 * (each safe on its own), then wakes the new deliveries. Safe to repeat with the same changes.
 * Throws when D1 fails: the caller keeps them and tries again.
 */
export async function flushMessageChanges(env: EmitEnv, scope: { accountId: string; sessionId: string; cache: HookCache }, changes: MessageChange[]): Promise<void> {
  if (changes.length === 0) return;
  const p = flushStatements(env.DB);
  if (scope.cache.hooks === null) scope.cache.hooks = hookRecords((await hooksStatement(p, scope.accountId).all<Record<string, unknown>>()).results);
  const cached = scope.cache.hooks;
  const at = now();
  // The first batch re-reads the webhooks; each change is its update, then its deliveries.
  const statements: D1PreparedStatement[] = [hooksStatement(p, scope.accountId)];
  const sentAt = new Map<number, string>();
  for (const change of changes) {
    if (change.kind === "sent") sentAt.set(statements.length, change.messageId);
    statements.push(updateStatement(p, change, at));
    const { event, targets } = await deliveriesOf(change, scope.sessionId, cached, true);
    statements.push(deliveriesStatement(p, change, event, targets, at));
  }
  // Before the rows exist: should the wake-up below be lost, the sweep sends them.
  await armRecovery(env);
  const results = await runInBatches(env.DB, statements);
  const woken = results.flatMap((r, i) => (i > 0 && i % 2 === 0 ? r.results.map((row) => String(row.id)) : []));
  await reportFailedSent(p, [...sentAt].filter(([i]) => results[i].meta.changes === 0).map(([, id]) => id));

  const live = hookRecords(results[0].results);
  if (!sameHooks(live, cached)) {
    scope.cache.hooks = live;
    const added = live.filter((h) => !cached.some((c) => c.id === h.id && c.updatedAt === h.updatedAt));
    const more: D1PreparedStatement[] = [];
    for (const change of changes) {
      const { event, targets } = await deliveriesOf(change, scope.sessionId, added, false);
      if (targets.length > 0) more.push(deliveriesStatement(p, change, event, targets, at));
    }
    for (const r of await runInBatches(env.DB, more)) woken.push(...r.results.map((row) => String(row.id)));
  }
  await wakeDeliveries(env, woken.map((id) => ({ id, generation: 0 })));
}

async function runInBatches(d1: D1Database, statements: D1PreparedStatement[]): Promise<D1Result<Record<string, unknown>>[]> {
  const results: D1Result<Record<string, unknown>>[] = [];
  for (let i = 0; i < statements.length; i += MAX_STATEMENTS) results.push(...(await d1.batch<Record<string, unknown>>(statements.slice(i, i + MAX_STATEMENTS))));
  return results;
}

/** A `sent` that found its row failed: an acked message was failed elsewhere. Logged loudly; never throws. */
async function reportFailedSent(p: ReturnType<typeof flushStatements>, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  try {
    const failed = (await failedStatement(p, ids).all<{ id: string }>()).results.map((r) => r.id);
    if (failed.length > 0) log.error({ messages: failed, count: failed.length }, "acked message found failed in D1: its sent was not recorded");
  } catch (err) {
    log.warn({ err }, "failed-sent check skipped");
  }
}
