// Dead-letter consumer for both DLQs: records the final failure.
//   wa-webhooks-dlq: a delivery that got no 2xx in all its attempts (or whose consumer kept
//                    crashing) → `dead` in the deliveries log; replayable from there.
//   wa-send-dlq:     outgoing messages that never reached their session → `failed`, refunded.
import { database } from "../db/client";
import { markDeliveriesDead } from "../db/webhooks.repo";
import { type WebhookQueueMessage } from "../events/emit";
import { sessionStub } from "../platform/bindings";
import { log } from "../platform/log";
import { isSendJob, sendJobMessageIds } from "./send.queue";
import { generationOf } from "./webhook.queue";

export const DEAD_LETTER_REASON = "dead-lettered after all attempts";

/** Each dead-lettered delivery with the generation its message carried. */
export function deadDeliveriesOf(messages: readonly Message<unknown>[]): { id: string; generation: number }[] {
  const out: { id: string; generation: number }[] = [];
  for (const m of messages) {
    const body = m.body as Partial<WebhookQueueMessage> | null;
    if (typeof body?.delivery_id === "string") out.push({ id: body.delivery_id, generation: generationOf(body) });
  }
  return out;
}

export const SEND_DEAD_LETTER_REASON = "send_queue_exhausted";

async function failDeadLetteredSends(messages: readonly Message<unknown>[], env: Env): Promise<void> {
  const bySession = new Map<string, string[]>();
  for (const m of messages) {
    if (!isSendJob(m.body)) continue;
    bySession.set(m.body.sessionId, [...(bySession.get(m.body.sessionId) ?? []), ...sendJobMessageIds(m.body)]);
  }
  log.warn({ count: [...bySession.values()].flat().length }, "outgoing messages dead-lettered");
  // Through the session object: it alone knows whether a message was acked while D1 still
  // says `queued` (its journal is not flushed yet). It fails and refunds only the others,
  // idempotently: a second pass changes nothing. A throw retries the whole batch.
  for (const [sessionId, ids] of bySession) await sessionStub(env, sessionId).failUnsent([...new Set(ids)], SEND_DEAD_LETTER_REASON);
}

export async function handleDeadLetters(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
  if (batch.queue === "wa-webhooks-dlq") {
    const dead = deadDeliveriesOf(batch.messages);
    log.warn({ count: dead.length }, "webhook deliveries dead-lettered");
    // Throwing here retries the whole batch (no DLQ behind the DLQ): fine, marking is idempotent.
    // Only at the message's generation: a replay that superseded it must not be killed.
    const db = database(env);
    const byGeneration = new Map<number, string[]>();
    for (const { id, generation } of dead) byGeneration.set(generation, [...(byGeneration.get(generation) ?? []), id]);
    for (const [generation, ids] of byGeneration) await markDeliveriesDead(db, ids, DEAD_LETTER_REASON, { generation });
    batch.ackAll();
    return;
  }
  if (batch.queue === "wa-send-dlq") {
    await failDeadLetteredSends(batch.messages, env);
    batch.ackAll();
    return;
  }
  log.error({ queue: batch.queue }, "dead letters from an unexpected queue");
  batch.ackAll();
}
