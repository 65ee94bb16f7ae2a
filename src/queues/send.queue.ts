// wa-send: the API hands accepted messages here; the consumer feeds them to the session
// object's outbox, which paces and sends them. A job is one session's items, so one call
// reaches one object; the outbox ignores ids it already holds, so redelivery is harmless.
import { database, type Db } from "../db/client";
import { pendingMessageIds } from "../db/messages.query";
import type { OutboxItem } from "../domain/outbox-item";
import { armRecovery } from "../platform/recovery-arm";
import { sessionStub } from "../platform/bindings";
import { log } from "../platform/log";
import { sendQueueRetryDelaySeconds } from "../domain/backoff";

export interface SendJob {
  v: 1;
  /** sessions.id (uuid): the session object is named by it. */
  sessionId: string;
  items: OutboxItem[];
}

// Queue limits: 128 KB per message, 100 messages and 256 KB per sendBatch call.
const MAX_ITEMS_PER_JOB = 100;
const MAX_JOB_BYTES = 96 * 1024;
const MAX_CALL_MESSAGES = 100;
const MAX_CALL_BYTES = 224 * 1024;

export function isSendJob(body: unknown): body is SendJob {
  const job = body as SendJob;
  return typeof job === "object" && job !== null && job.v === 1 && typeof job.sessionId === "string" && Array.isArray(job.items);
}

/** The message ids a job carries. */
export function sendJobMessageIds(body: unknown): string[] {
  return isSendJob(body) ? body.items.map((i) => i.messageId).filter((id) => typeof id === "string") : [];
}

const sizeOf = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

/** Splits one session's items into jobs that fit a queue message, keeping their order. */
export function packSendJobs(sessionId: string, items: OutboxItem[]): SendJob[] {
  const jobs: SendJob[] = [];
  let current: OutboxItem[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= MAX_ITEMS_PER_JOB || bytes + size > MAX_JOB_BYTES)) {
      jobs.push({ v: 1, sessionId, items: current });
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length) jobs.push({ v: 1, sessionId, items: current });
  return jobs;
}

/**
 * Sends jobs in order, in as few sendBatch calls as the limits allow. Returns the ids of the
 * messages enqueued, and of those not enqueued (from the first refused call on).
 */
export async function enqueueSendJobs(env: Env, jobs: SendJob[]): Promise<{ enqueuedIds: string[]; failedIds: string[] }> {
  if (jobs.length === 0) return { enqueuedIds: [], failedIds: [] };
  // Accepted rows are in D1 already: should a job be lost, the recovery sweep finds them. Armed
  // alongside the sends (never throws), finished before returning.
  const armed = armRecovery(env);
  try {
    return await sendJobs(env, jobs);
  } finally {
    await armed;
  }
}

async function sendJobs(env: Env, jobs: SendJob[]): Promise<{ enqueuedIds: string[]; failedIds: string[] }> {
  const enqueuedIds: string[] = [];
  let index = 0;
  while (index < jobs.length) {
    const call: SendJob[] = [];
    let bytes = 0;
    while (index < jobs.length && call.length < MAX_CALL_MESSAGES) {
      const size = sizeOf(jobs[index]);
      if (call.length > 0 && bytes + size > MAX_CALL_BYTES) break;
      call.push(jobs[index++]);
      bytes += size;
    }
    try {
      await env.SEND_QUEUE.sendBatch(call.map((body) => ({ body, contentType: "json" as const })));
    } catch (error) {
      log.error({ error: String(error) }, "send queue refused jobs");
      const failedIds = [...call, ...jobs.slice(index)].flatMap((j) => j.items.map((i) => i.messageId));
      return { enqueuedIds, failedIds };
    }
    enqueuedIds.push(...call.flatMap((j) => j.items.map((i) => i.messageId)));
  }
  return { enqueuedIds, failedIds: [] };
}

/** Hands one job to its outbox; false when it was put back for a retry. */
async function deliver(message: Message<unknown>, env: Env, db: Db): Promise<boolean> {
  const job = message.body;
  if (!isSendJob(job)) {
    log.error({ id: message.id }, "malformed send job dropped");
    message.ack();
    return true;
  }
  // Messages failed meanwhile (refunded) must not reach WhatsApp.
  const pending = await pendingMessageIds(db, job.items.map((i) => i.messageId));
  const items = job.items.filter((i) => pending.has(i.messageId));
  if (items.length === 0) {
    message.ack();
    return true;
  }
  try {
    await sessionStub(env, job.sessionId).enqueue(items);
    message.ack();
    return true;
  } catch (error) {
    log.error({ session: job.sessionId, attempts: message.attempts, error: String(error) }, "outbox enqueue failed");
    message.retry({ delaySeconds: sendQueueRetryDelaySeconds(message.attempts) });
    return false;
  }
}

export async function handleSendBatch(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const db = database(env);
  // In order within a session (a campaign's jobs), in parallel across sessions.
  const bySession = new Map<string, Message<unknown>[]>();
  for (const message of batch.messages) {
    const key = isSendJob(message.body) ? message.body.sessionId : "";
    bySession.set(key, [...(bySession.get(key) ?? []), message]);
  }
  await Promise.all(
    [...bySession.values()].map(async (messages) => {
      let ok = true;
      for (const message of messages) {
        // After a failure the session's later jobs wait too, so a campaign keeps its order.
        if (ok) ok = await deliver(message, env, db);
        else message.retry({ delaySeconds: sendQueueRetryDelaySeconds(message.attempts) });
      }
    }),
  );
}
