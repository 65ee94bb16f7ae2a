import { and, eq, inArray, lt } from "drizzle-orm";
import { database } from "../db/client";
import { PENDING_STATUSES } from "../db/messages.repo";
import { campaigns, messages, webhookDeliveries } from "../db/schema";
import type { OutboxItem } from "../session/outbox.types";
import { enqueueSendJobs, packSendJobs } from "./send.queue";
import { toTimestamp } from "../domain/time";
import type { WebhookQueueMessage } from "../events/emit";

// The cron's work: things whose queue message may have been lost.
//
// A delivery row is written before its queue message is sent; if sending failed, or a queue
// message was lost, the row would wait forever. The cron re-queues pending deliveries that
// are well past their next attempt. Delivery stays at least once with the same webhook-id.

const OVERDUE_MS = 15 * 60_000;
const MAX_PER_RUN = 500;
const SEND_BATCH_LIMIT = 100;

export async function requeueOverdueDeliveries(env: Pick<Env, "DB" | "WEBHOOK_QUEUE">, now = Date.now()): Promise<number> {
  const db = database(env);
  const overdue = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.status, "pending"), lt(webhookDeliveries.nextAttemptAt, toTimestamp(now - OVERDUE_MS))))
    .limit(MAX_PER_RUN)
    .all();
  for (let i = 0; i < overdue.length; i += SEND_BATCH_LIMIT) {
    const chunk = overdue.slice(i, i + SEND_BATCH_LIMIT);
    await env.WEBHOOK_QUEUE.sendBatch(chunk.map((r) => ({ body: { delivery_id: r.id } satisfies WebhookQueueMessage, contentType: "json" as const })));
    // Not picked again by the next run unless it is overdue once more.
    for (const r of chunk) {
      await db.update(webhookDeliveries).set({ nextAttemptAt: toTimestamp(now) }).where(eq(webhookDeliveries.id, r.id));
    }
  }
  if (overdue.length) console.warn(JSON.stringify({ msg: "re-queued overdue webhook deliveries", count: overdue.length }));
  return overdue.length;
}

// Outgoing messages are written (and charged) before their send job is queued. A crash in
// between would leave them `queued` forever; the cron hands such messages to their session
// again. The outbox ignores ids it already holds or has finished, so this never duplicates.
const STALE_SEND_MS = 30 * 60_000;

export async function requeueStaleSends(env: Env, now = Date.now()): Promise<number> {
  const db = database(env);
  const stale = await db
    .select({ message: messages, delayBetween: campaigns.delayBetween })
    .from(messages)
    .leftJoin(campaigns, eq(campaigns.id, messages.campaignId))
    .where(and(eq(messages.direction, "outgoing"), inArray(messages.status, [...PENDING_STATUSES]), lt(messages.createdAt, toTimestamp(now - STALE_SEND_MS))))
    .limit(MAX_PER_RUN)
    .all();
  const bySession = new Map<string, OutboxItem[]>();
  for (const { message: m, delayBetween } of stale) {
    const items = bySession.get(m.whatsappSessionId) ?? [];
    items.push({
      messageId: m.id,
      accountId: m.accountId,
      to: m.toNumber,
      type: m.type as OutboxItem["type"],
      content: m.content,
      mediaUrl: m.mediaUrl,
      payload: m.payload ?? null,
      campaignId: m.campaignId,
      delayBetweenMs: delayBetween ?? 0,
      scheduledAt: m.scheduledAt ? Date.parse(m.scheduledAt) : null,
    });
    bySession.set(m.whatsappSessionId, items);
  }
  const jobs = [...bySession].flatMap(([sessionId, items]) => packSendJobs(sessionId, items));
  if (jobs.length) await enqueueSendJobs(env, jobs);
  return stale.length;
}
