import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { messages, webhookDeliveries } from "../../src/db/schema";
import { newDeliveryRow } from "../../src/db/webhooks.repo";
import { now } from "../../src/domain/time";
import { handleDeadLetters } from "../../src/queues/dead-letter.queue";
import { call, createAccount } from "../helpers/api";
import { newEndpoint, waitForRequests } from "../helpers/webhook-receiver";

describe("dead-letter consumer", () => {
  it("fails and refunds outgoing messages dead-lettered on wa-send, and tells webhooks and the callback URL", async () => {
    const account = await createAccount({ balance: 100 });
    const hookEndpoint = newEndpoint();
    const callbackEndpoint = newEndpoint();
    const hook = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: hookEndpoint.url, events: ["message.failed"] } });
    expect(hook.status).toBe(201);

    const sessionId = crypto.randomUUID();
    const at = now();
    const id = crypto.randomUUID();
    await database(env).insert(messages).values({
      id,
      accountId: account.id,
      whatsappSessionId: sessionId,
      toNumber: "22997000009",
      type: "text",
      content: "never sent",
      status: "queued",
      direction: "outgoing",
      cost: 10,
      callbackUrl: callbackEndpoint.url,
      callbackData: "ticket-7",
      createdAt: at,
      updatedAt: at,
    });
    await env.DB.prepare("UPDATE accounts SET balance = 90 WHERE id = ?").bind(account.id).run();

    const job = { v: 1, sessionId, items: [{ messageId: id, accountId: account.id, to: "22997000009", type: "text", content: "never sent" }] };
    const batch = createMessageBatch("wa-send-dlq", [{ id: "dl-1", timestamp: new Date(), attempts: 1, body: job }]);
    const ctx = createExecutionContext();
    await handleDeadLetters(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.ackAll).toBe(true);

    const row = await env.DB.prepare("SELECT status, reason FROM messages WHERE id = ?").bind(id).first();
    expect(row).toEqual({ status: "failed", reason: "send_queue_exhausted" });
    const balance = await env.DB.prepare("SELECT balance FROM accounts WHERE id = ?").bind(account.id).first<{ balance: number }>();
    expect(balance?.balance).toBe(100);

    const [signed] = await waitForRequests(hookEndpoint.key, 1);
    expect(new Webhook(hook.json.webhook.secret).verify(signed.body, signed.headers)).toMatchObject({
      type: "message.failed",
      session_id: sessionId,
      data: { id, status: "failed", reason: "send_queue_exhausted", from_me: true },
    });
    const [callback] = await waitForRequests(callbackEndpoint.key, 1);
    expect(JSON.parse(callback.body)).toMatchObject({ type: "message.failed", data: { id, callback_data: "ticket-7" } });
    expect(callback.headers["webhook-id"]).toBe(signed.headers["webhook-id"]);

    // A second pass (redelivered dead letter) neither refunds nor notifies again.
    const again = createMessageBatch("wa-send-dlq", [{ id: "dl-2", timestamp: new Date(), attempts: 1, body: job }]);
    await handleDeadLetters(again, env, createExecutionContext());
    const after = await env.DB.prepare("SELECT balance FROM accounts WHERE id = ?").bind(account.id).first<{ balance: number }>();
    expect(after?.balance).toBe(100);
  });

  it("marks dead-lettered webhook deliveries dead but leaves delivered ones alone", async () => {
    const account = await createAccount();
    const db = database(env);
    const pending = newDeliveryRow({ accountId: account.id, webhookId: crypto.randomUUID(), url: "https://example.com/a", eventId: "msg_a", eventType: "message.received", payload: "{}" });
    const delivered = { ...newDeliveryRow({ accountId: account.id, webhookId: pending.webhookId, url: "https://example.com/a", eventId: "msg_b", eventType: "message.received", payload: "{}" }), status: "delivered" as const };
    await db.insert(webhookDeliveries).values(pending);
    await db.insert(webhookDeliveries).values(delivered);
    const batch = createMessageBatch("wa-webhooks-dlq", [
      { id: "w1", timestamp: new Date(), attempts: 1, body: { delivery_id: pending.id } },
      { id: "w2", timestamp: new Date(), attempts: 1, body: { delivery_id: delivered.id } },
    ]);
    const ctx = createExecutionContext();
    await handleDeadLetters(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
    const rows = await env.DB.prepare("SELECT id, status, last_error, next_attempt_at FROM webhook_deliveries WHERE id IN (?, ?)").bind(pending.id, delivered.id).all();
    const byId = Object.fromEntries(rows.results.map((r) => [r.id, r]));
    expect(byId[pending.id]).toMatchObject({ status: "dead", last_error: "dead-lettered after all attempts", next_attempt_at: null });
    expect(byId[delivered.id]).toMatchObject({ status: "delivered" });
  });
});
