import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { webhookDeliveries } from "../../src/db/schema";
import { newDeliveryRow } from "../../src/db/webhooks.repo";
import { toTimestamp } from "../../src/domain/time";
import { call, createAccount } from "../helpers/api";
import { newEndpoint, waitForRequests } from "../helpers/webhook-receiver";

describe("webhook sweeper", () => {
  it("re-queues a pending delivery whose queue message was lost, with its webhook-id", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    const created = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: endpoint.url, events: ["message.received"] } });
    expect(created.status, created.text).toBe(201);
    const hook = created.json.webhook;

    // A row written 20 minutes ago whose queue message never arrived.
    const payload = JSON.stringify({ id: "msg_lost", type: "message.received", created_at: toTimestamp(Date.now()), account_id: account.id, session_id: null, data: { id: "x", from_me: false, type: "text" } });
    const row = newDeliveryRow({ accountId: account.id, webhookId: hook.id, url: endpoint.url, eventId: "msg_lost", eventType: "message.received", payload });
    await database(env).insert(webhookDeliveries).values({ ...row, nextAttemptAt: toTimestamp(Date.now() - 20 * 60_000) });

    // The cron trigger, as Cloudflare runs it.
    await worker.scheduled(createScheduledController({ cron: "*/10 * * * *" }), env, createExecutionContext());
    const [request] = await waitForRequests(endpoint.key, 1);
    expect(request.headers["webhook-id"]).toBe("msg_lost");
    expect(new Webhook(hook.secret).verify(request.body, request.headers)).toMatchObject({ id: "msg_lost" });
  });
});
