import { and, eq, lt } from "drizzle-orm";
import { database } from "../db/client";
import { webhookDeliveries } from "../db/schema";
import { toTimestamp } from "../domain/time";
import type { WebhookQueueMessage } from "../events/emit";

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
