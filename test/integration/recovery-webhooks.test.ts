import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { webhookDeliveries } from "../../src/db/schema";
import { claimOverdueDeliveries, findDelivery, newDeliveryRow, resetForReplay, type DeliveryRow } from "../../src/db/webhooks.repo";
import { toTimestamp } from "../../src/domain/time";
import { handleDeadLetters } from "../../src/queues/dead-letter.queue";
import { requeueOverdueDeliveries } from "../../src/recovery/sweep";
import { attemptDelivery } from "../../src/queues/webhook.queue";
import { WEBHOOK_MAX_ATTEMPTS as MAX_ATTEMPTS } from "../../src/domain/backoff";
import { RECOVERY_NAME } from "../../src/platform/bindings";
import { call, createAccount } from "../helpers/api";
import { newEndpoint, planResponses, received, waitFor, waitForRequests } from "../helpers/webhook-receiver";

// Webhook deliveries are rows in D1; queue messages only wake the consumer. A crash that loses
// the messages (first sends or retries) loses no event: the recovery object's alarm, which runs
// the same under `wrangler dev` as on Cloudflare, sends them again with their webhook-id.

const recovery = () => env.RECOVERY.get(env.RECOVERY.idFromName(RECOVERY_NAME));
const db = () => database(env);
const ago = (ms: number) => toTimestamp(Date.now() - ms);

async function webhookFor(key: string, url: string) {
  const created = await call("POST", "/v1/whatsapp/webhooks", { key, body: { url, events: ["message.received"] } });
  expect(created.status, created.text).toBe(201);
  return created.json.webhook as { id: string; secret: string };
}

function deliveryRow(accountId: string, webhookId: string, url: string, eventId: string, patch: Partial<DeliveryRow> = {}): DeliveryRow {
  const payload = JSON.stringify({ id: eventId, type: "message.received", created_at: ago(0), account_id: accountId, session_id: null, data: { id: eventId, from_me: false, type: "text" } });
  return { ...newDeliveryRow({ accountId, webhookId, url, eventId, eventType: "message.received", payload }), ...patch };
}

async function insert(rows: DeliveryRow[]): Promise<void> {
  for (const row of rows) await db().insert(webhookDeliveries).values(row);
}

describe("webhook recovery after a crash", () => {
  it("delivers a burst whose queue messages (first sends and retries) were lost, each with its webhook-id, from the recovery alarm", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    const hook = await webhookFor(account.key, endpoint.url);
    // 20 events of a burst: 12 never got their first message out, 8 failed once and their
    // retry message was lost. One more failed and waits for a retry an hour from now.
    const pending = Array.from({ length: 12 }, (_, i) => deliveryRow(account.id, hook.id, endpoint.url, `evt_pending_${i}_${crypto.randomUUID()}`, { nextAttemptAt: ago(3 * 60_000) }));
    const failed = Array.from({ length: 8 }, (_, i) =>
      deliveryRow(account.id, hook.id, endpoint.url, `evt_failed_${i}_${crypto.randomUUID()}`, {
        status: "failed",
        attempts: 1,
        lastStatusCode: 503,
        lastError: "HTTP 503",
        nextAttemptAt: ago(3 * 60_000),
      }),
    );
    const later = deliveryRow(account.id, hook.id, endpoint.url, `evt_later_${crypto.randomUUID()}`, {
      status: "failed",
      attempts: 1,
      nextAttemptAt: toTimestamp(Date.now() + 60 * 60_000),
    });
    await insert([...pending, ...failed, later]);

    // The process restarts: the recovery object loses its memory, not its alarm.
    await recovery().arm();
    await runInDurableObject(recovery(), (_, state) => state.abort("crash")).catch(() => {});
    expect(await runDurableObjectAlarm(recovery())).toBe(true);

    const burst = [...pending, ...failed];
    const requests = await waitForRequests(endpoint.key, burst.length);
    const ids = new Set(requests.map((r) => r.headers["webhook-id"]));
    for (const row of burst) expect(ids.has(row.eventId), row.eventId).toBe(true);
    for (const request of requests) expect(new Webhook(hook.secret).verify(request.body, request.headers)).toBeTruthy();
    await waitFor("the burst delivered in D1", async () => {
      const rows = await Promise.all(burst.map((r) => findDelivery(db(), r.id)));
      return rows.every((r) => r?.status === "delivered");
    });
    // The retry due in an hour is not the sweep's: untouched, its own message will come.
    expect(await findDelivery(db(), later.id)).toMatchObject({ status: "failed", generation: 0, attempts: 1, nextAttemptAt: later.nextAttemptAt });
    // It is still owed, so the alarm has set itself again. (That it stops once nothing is owed
    // cannot be shown here: test files share D1, so other files' work may be owed meanwhile.)
    expect(await runInDurableObject(recovery(), (_, state) => state.storage.getAlarm())).not.toBeNull();
  });

  it("lets a replay send when a retry of the older generation arrives after it, and never lets the stale one move the delivery", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    const hook = await webhookFor(account.key, endpoint.url);
    // Failed once; its retry message (generation 0) is still in the queue ...
    const row = deliveryRow(account.id, hook.id, endpoint.url, `evt_replay_${crypto.randomUUID()}`, {
      status: "failed",
      attempts: 1,
      lastStatusCode: 500,
      nextAttemptAt: toTimestamp(Date.now() + 60 * 60_000),
    });
    await insert([row]);
    // ... when the user replays it: a new generation, whose message is the one to send.
    const replayed = (await resetForReplay(db(), row.id))!;
    expect(replayed).toMatchObject({ status: "pending", generation: 1 });

    // The stale retry arrives first: acked, nothing sent or recorded.
    expect(await attemptDelivery(env, db(), replayed, 2, 0)).toEqual({ kind: "ack" });
    expect(await findDelivery(db(), row.id)).toMatchObject({ status: "pending", attempts: 1, generation: 1 });

    // Its dead-lettering, too, leaves the replay alone.
    await handleDeadLetters(deadLetterBatch([{ delivery_id: row.id, generation: 0 }]), env, {} as ExecutionContext);
    expect(await findDelivery(db(), row.id)).toMatchObject({ status: "pending", generation: 1 });

    // The replay's message sends.
    expect(await attemptDelivery(env, db(), (await findDelivery(db(), row.id))!, 1, 1)).toEqual({ kind: "ack" });
    expect(await findDelivery(db(), row.id)).toMatchObject({ status: "delivered", attempts: 2 });
    const requests = await received(endpoint.key);
    expect(requests.map((r) => r.headers["webhook-id"])).toEqual([row.eventId]);
  });

  it("does not let an attempt superseded while it was posting move the delivery on", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    const hook = await webhookFor(account.key, endpoint.url);
    const row = deliveryRow(account.id, hook.id, endpoint.url, `evt_race_${crypto.randomUUID()}`, { nextAttemptAt: toTimestamp(Date.now() + 60 * 60_000) });
    await insert([row]);
    const asRead = (await findDelivery(db(), row.id))!;
    // A replay lands between the consumer's read and its record: generation 1 now owns it.
    await resetForReplay(db(), row.id);
    await planResponses(endpoint.key, [500]);
    const outcome = await attemptDelivery(env, db(), asRead, 1, 0);
    expect(outcome).toEqual({ kind: "ack" });
    // The attempt is logged, but the delivery stays with the replay: pending, no retry of its own.
    expect(await findDelivery(db(), row.id)).toMatchObject({ status: "pending", attempts: 1, generation: 1 });
  });
});

describe("the delivery sweep under queue lag", () => {
  it("spaces its re-claims of one delivery further apart each time, and claims only what is still due", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    const hook = await webhookFor(account.key, endpoint.url);
    const t = Date.now();
    const row = deliveryRow(account.id, hook.id, endpoint.url, `evt_lag_${crypto.randomUUID()}`, { nextAttemptAt: toTimestamp(t - 3 * 60_000) });
    await insert([row]);
    const due = (at: number) => toTimestamp(at - 2 * 60_000); // the sweep's 2-minute overdue rule
    // Earlier tests of this file may leave owed rows: only this one counts here.
    const claim = async (at: number) => (await claimOverdueDeliveries(db(), due(at), 100, at)).filter((c) => c.id === row.id);

    // First claim: generation 1, not due again for 2 minutes.
    expect(await claim(t)).toEqual([{ id: row.id, generation: 1, attempts: 0 }]);
    expect((await findDelivery(db(), row.id))!.nextAttemptAt).toBe(toTimestamp(t + 2 * 60_000));
    // A sweep 3 minutes later (its message still stuck in the queue) leaves it alone ...
    expect(await claim(t + 3 * 60_000)).toEqual([]);
    // ... one at 4 minutes and a bit claims it again, now for 4 minutes; the spacing doubles.
    const t2 = t + 4 * 60_000 + 1;
    expect(await claim(t2)).toEqual([{ id: row.id, generation: 2, attempts: 0 }]);
    expect((await findDelivery(db(), row.id))!.nextAttemptAt).toBe(toTimestamp(t2 + 4 * 60_000));
  });

  it("goes on with the retry schedule where a lost retry left it, so a failing endpoint still ends dead", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    await planResponses(endpoint.key, [], 500);
    const hook = await webhookFor(account.key, endpoint.url);
    // Failed all but the last attempt of its schedule; the message for the last one was lost.
    const row = deliveryRow(account.id, hook.id, endpoint.url, `evt_tail_${crypto.randomUUID()}`, {
      status: "failed",
      attempts: MAX_ATTEMPTS - 1,
      lastStatusCode: 500,
      nextAttemptAt: ago(3 * 60_000),
    });
    await insert([row]);

    expect(await requeueOverdueDeliveries(env)).toBeGreaterThanOrEqual(1);
    // The sweep's message is that last attempt: one POST, then dead (not a fresh schedule).
    await waitFor("the delivery dead", async () => (await findDelivery(db(), row.id))?.status === "dead");
    expect(await findDelivery(db(), row.id)).toMatchObject({ status: "dead", attempts: MAX_ATTEMPTS, generation: 1 });
    expect((await received(endpoint.key)).map((r) => r.headers["webhook-id"])).toEqual([row.eventId]);
  });
});

describe("a replay against a late success", () => {
  it("POSTs the replay once even when the replaced generation's message succeeds after the replay", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    const hook = await webhookFor(account.key, endpoint.url);
    const row = deliveryRow(account.id, hook.id, endpoint.url, `evt_late_${crypto.randomUUID()}`, { nextAttemptAt: toTimestamp(Date.now() + 60 * 60_000) });
    await insert([row]);
    // Generation 0's message read the row, then the user replayed it, then its POST succeeded.
    const asRead = (await findDelivery(db(), row.id))!;
    await resetForReplay(db(), row.id);
    expect(await attemptDelivery(env, db(), asRead, 1, 0)).toEqual({ kind: "ack" });
    // The success is logged, but the replay still owns the delivery ...
    expect(await findDelivery(db(), row.id)).toMatchObject({ status: "pending", attempts: 1, generation: 1 });
    // ... and its message POSTs (the user asked for it), with the same webhook-id.
    expect(await attemptDelivery(env, db(), (await findDelivery(db(), row.id))!, 1, 1)).toEqual({ kind: "ack" });
    expect(await findDelivery(db(), row.id)).toMatchObject({ status: "delivered", attempts: 2, generation: 1 });
    expect((await received(endpoint.key)).map((r) => r.headers["webhook-id"])).toEqual([row.eventId, row.eventId]);
  });

  it("never turns a delivered delivery back into failed when a redelivered message of its generation fails", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    const hook = await webhookFor(account.key, endpoint.url);
    const row = deliveryRow(account.id, hook.id, endpoint.url, `evt_twice_${crypto.randomUUID()}`, { nextAttemptAt: toTimestamp(Date.now() + 60 * 60_000) });
    await insert([row]);
    // The queue delivered the same message twice; both copies read the row before either posted.
    const asRead = (await findDelivery(db(), row.id))!;
    expect(await attemptDelivery(env, db(), asRead, 1, 0)).toEqual({ kind: "ack" });
    expect(await findDelivery(db(), row.id)).toMatchObject({ status: "delivered" });
    await planResponses(endpoint.key, [500]);
    expect(await attemptDelivery(env, db(), asRead, 1, 0)).toEqual({ kind: "ack" });
    expect(await findDelivery(db(), row.id)).toMatchObject({ status: "delivered", attempts: 2, lastStatusCode: 500 });
  });
});

function deadLetterBatch(bodies: unknown[]): MessageBatch<unknown> {
  const messages = bodies.map((body, i) => ({
    id: `dlq-${i}`,
    timestamp: new Date(),
    attempts: 1,
    body,
    ack() {},
    retry() {},
  }));
  return { queue: "wa-webhooks-dlq", messages, ackAll() {}, retryAll() {} } as unknown as MessageBatch<unknown>;
}
