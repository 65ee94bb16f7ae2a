// Dead-letter consumer for both DLQs: records the final failure.
//   wa-webhooks-dlq: a delivery that got no 2xx in all its attempts (or whose consumer kept
//                    crashing) → `dead` in the deliveries log; replayable from there.
//   wa-send-dlq:     outgoing messages that never reached their session → `failed`, refunded.
import { database } from "../db/client";
import { failMessages } from "../db/messages.repo";
import { markDeliveriesDead } from "../db/webhooks.repo";
import { type WebhookQueueMessage } from "../events/emit";
import { emitMessageEvent } from "../events/message-events";
import { sendJobMessageIds } from "./send.queue";

export const DEAD_LETTER_REASON = "dead-lettered after all attempts";

export function deliveryIdsOf(messages: readonly Message<unknown>[]): string[] {
  const ids = new Set<string>();
  for (const m of messages) {
    const id = (m.body as Partial<WebhookQueueMessage> | null)?.delivery_id;
    if (typeof id === "string") ids.add(id);
  }
  return [...ids];
}

export const SEND_DEAD_LETTER_REASON = "send_queue_exhausted";

async function failDeadLetteredSends(messages: readonly Message<unknown>[], env: Env): Promise<void> {
  const ids = [...new Set(messages.flatMap((m) => sendJobMessageIds(m.body)))];
  console.warn(JSON.stringify({ msg: "outgoing messages dead-lettered", count: ids.length }));
  // Fails and refunds only messages still pending (idempotent: a second pass changes nothing).
  const failed = await failMessages(database(env), ids, SEND_DEAD_LETTER_REASON);
  // The failure is recorded either way; a lost event is logged, not retried (a second
  // pass would find nothing left to fail).
  for (const row of failed) await emitMessageEvent(env, "message.failed", row);
}

export async function handleDeadLetters(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
  if (batch.queue === "wa-webhooks-dlq") {
    const ids = deliveryIdsOf(batch.messages);
    console.warn(JSON.stringify({ msg: "webhook deliveries dead-lettered", count: ids.length }));
    // Throwing here retries the whole batch (no DLQ behind the DLQ): fine, marking is idempotent.
    await markDeliveriesDead(database(env), ids, DEAD_LETTER_REASON);
    batch.ackAll();
    return;
  }
  if (batch.queue === "wa-send-dlq") {
    await failDeadLetteredSends(batch.messages, env);
    batch.ackAll();
    return;
  }
  console.error(JSON.stringify({ msg: "dead letters from an unexpected queue", queue: batch.queue }));
  batch.ackAll();
}
