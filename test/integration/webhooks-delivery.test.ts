import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { sessions } from "../../src/db/schema";
import { newSessionRow } from "../../src/db/sessions.repo";
import { emitEvent } from "../../src/events/emit";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { newEndpoint, planResponses, received, waitFor, waitForRequests } from "../helpers/webhook-receiver";

async function createWebhook(account: TestAccount, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body });
  if (res.status !== 201) throw new Error(`webhook create failed: ${res.status} ${res.text}`);
  return res.json.webhook as { id: string; secret: string; url: string };
}

async function deliveries(account: TestAccount, webhookId: string, query = "") {
  const res = await call("GET", `/v1/whatsapp/webhooks/${webhookId}/deliveries${query}`, { key: account.key });
  expect(res.status).toBe(200);
  return res.json as { deliveries: any[]; next_cursor: string | null };
}

async function waitForDeliveryStatus(account: TestAccount, webhookId: string, deliveryId: string, status: string) {
  return waitFor(`delivery ${deliveryId} ${status}`, async () => {
    const page = await deliveries(account, webhookId, "?limit=100");
    const d = page.deliveries.find((x) => x.id === deliveryId);
    return d && d.status === status ? d : undefined;
  });
}

const incoming = (overrides: Record<string, unknown> = {}) => ({
  id: crypto.randomUUID(),
  chat_id: "22997000001@s.whatsapp.net",
  from_me: false,
  direction: "incoming",
  type: "text",
  from_number: "22997000001",
  to_number: "22997000000",
  content: "hello",
  status: "delivered",
  ...overrides,
});

describe("webhook deliveries", () => {
  it("POSTs the event signed per Standard Webhooks with the custom headers", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    const hook = await createWebhook(account, { url: endpoint.url, events: ["message.received"], headers: { "X-Api-Key": "k-123" } });
    const data = incoming();
    const { eventId, deliveryIds } = await emitEvent(env, { accountId: account.id, sessionId: null, type: "message.received", data });
    expect(deliveryIds).toHaveLength(1);

    const [request] = await waitForRequests(endpoint.key, 1);
    expect(request.method).toBe("POST");
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["x-api-key"]).toBe("k-123");
    expect(request.headers["webhook-id"]).toBe(eventId);
    expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const verified = new Webhook(hook.secret).verify(request.body, request.headers) as Record<string, unknown>;
    expect(verified).toEqual({
      id: eventId,
      type: "message.received",
      created_at: expect.stringMatching(/\.\d{6}Z$/),
      account_id: account.id,
      session_id: null,
      data,
    });
    // Another secret does not verify.
    const other = await createWebhook(account, { url: newEndpoint().url });
    expect(() => new Webhook(other.secret).verify(request.body, request.headers)).toThrow();

    const delivered = await waitForDeliveryStatus(account, hook.id, deliveryIds[0], "delivered");
    expect(delivered).toMatchObject({ event_id: eventId, event_type: "message.received", attempts: 1, last_status_code: 200, last_error: null });
    expect(delivered.attempt_log).toEqual([{ attempt: 1, status_code: 200, error: null, duration_ms: expect.any(Number), created_at: expect.any(String) }]);
    expect(delivered.delivered_at).toMatch(/\.\d{6}Z$/);
  });

  it("keeps retrying a receiver that answers 503 for a while, with the same webhook-id, until it gets through", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    await planResponses(endpoint.key, [503, 503], 200);
    const hook = await createWebhook(account, { url: endpoint.url });
    const events = await Promise.all(
      [1, 2].map((n) => emitEvent(env, { accountId: account.id, type: "message.received", data: incoming({ content: `m${n}` }) })),
    );

    const requests = await waitForRequests(endpoint.key, 4);
    for (const { deliveryIds } of events) await waitForDeliveryStatus(account, hook.id, deliveryIds[0], "delivered");
    const all = await received(endpoint.key);
    // 2 failures shared between the two events, then each got through: 4 requests in all.
    expect(all).toHaveLength(4);
    for (const { eventId } of events) {
      const mine = requests.filter((r) => r.headers["webhook-id"] === eventId);
      expect(mine.length).toBeGreaterThanOrEqual(1);
      for (const r of mine) expect(new Webhook(hook.secret).verify(r.body, r.headers)).toMatchObject({ id: eventId });
    }
    const page = await deliveries(account, hook.id);
    const attempts = page.deliveries.flatMap((d) => d.attempt_log.map((a: { status_code: number }) => a.status_code)).sort();
    expect(attempts).toEqual([200, 200, 503, 503]);
    for (const d of page.deliveries) {
      expect(d.attempts).toBe(d.attempt_log.length);
      expect(d.attempt_log.at(-1).status_code).toBe(200);
    }
  });

  it("dead-letters a receiver that never recovers, then replays with the same webhook-id", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    await planResponses(endpoint.key, [], 503);
    const hook = await createWebhook(account, { url: endpoint.url, events: ["session.status"] });
    const { eventId, deliveryIds } = await emitEvent(env, {
      accountId: account.id,
      type: "session.status",
      data: { status: "disconnected", reason: "logged_out" },
    });

    // vitest.config.ts gives wa-webhooks 3 retries: 4 attempts, then wa-webhooks-dlq marks it dead.
    const dead = await waitForDeliveryStatus(account, hook.id, deliveryIds[0], "dead");
    expect(dead.attempts).toBe(4);
    expect(dead.attempt_log.map((a: { status_code: number }) => a.status_code)).toEqual([503, 503, 503, 503]);
    expect(dead.attempt_log.map((a: { attempt: number }) => a.attempt)).toEqual([1, 2, 3, 4]);
    expect(dead.last_error).toBe("HTTP 503");
    expect(dead.next_attempt_at).toBeNull();
    const failedRequests = await received(endpoint.key);
    expect(failedRequests).toHaveLength(4);
    expect(new Set(failedRequests.map((r) => r.headers["webhook-id"]))).toEqual(new Set([eventId]));

    // The receiver is fixed; replay.
    await planResponses(endpoint.key, [], 200);
    const replay = await call("POST", `/v1/whatsapp/webhooks/${hook.id}/deliveries/${deliveryIds[0]}/replay`, { key: account.key });
    expect(replay.status).toBe(202);
    expect(replay.json.delivery).toMatchObject({ id: deliveryIds[0], event_id: eventId, status: "pending" });
    const requests = await waitForRequests(endpoint.key, 5);
    const last = requests[4];
    expect(last.headers["webhook-id"]).toBe(eventId);
    expect(last.body).toBe(failedRequests[0].body);
    expect(new Webhook(hook.secret).verify(last.body, last.headers)).toMatchObject({ id: eventId, type: "session.status" });
    const delivered = await waitForDeliveryStatus(account, hook.id, deliveryIds[0], "delivered");
    expect(delivered.attempts).toBe(5);
    expect(delivered.attempt_log.at(-1)).toMatchObject({ attempt: 5, status_code: 200 });
  });

  it("does not follow redirects: a 3xx is a failed attempt", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    await planResponses(endpoint.key, [302], 200);
    const hook = await createWebhook(account, { url: endpoint.url });
    const { deliveryIds } = await emitEvent(env, { accountId: account.id, type: "message.received", data: incoming() });
    const delivered = await waitForDeliveryStatus(account, hook.id, deliveryIds[0], "delivered");
    expect(delivered.attempt_log.map((a: { status_code: number; error: string | null }) => [a.status_code, a.error])).toEqual([
      [302, "HTTP 302 (redirects are not followed)"],
      [200, null],
    ]);
  });

  // workerd prints "Network connection lost" for each refused connection: its own log line,
  // not an unhandled rejection of ours (the fetch rejection is caught and recorded).
  it("records network failures as attempts", async () => {
    const account = await createAccount();
    // Nothing listens on port 9 of 127.0.0.1 (discard): connection refused.
    const hook = await createWebhook(account, { url: "http://127.0.0.1:9/never" });
    const { deliveryIds } = await emitEvent(env, { accountId: account.id, type: "message.received", data: incoming() });
    const dead = await waitForDeliveryStatus(account, hook.id, deliveryIds[0], "dead");
    expect(dead.attempt_log).toHaveLength(4);
    for (const a of dead.attempt_log) {
      expect(a.status_code).toBeNull();
      expect(a.error).toMatch(/^network error/);
    }
  });

  it("sends a test ping through the same machinery", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    const hook = await createWebhook(account, { url: endpoint.url, events: ["session.qr"] });
    const res = await call("POST", `/v1/whatsapp/webhooks/${hook.id}/test`, { key: account.key });
    expect(res.status).toBe(202);
    expect(res.json.delivery).toMatchObject({ event_type: "webhook.test", status: "pending", event_id: res.json.event_id });
    const [request] = await waitForRequests(endpoint.key, 1);
    expect(new Webhook(hook.secret).verify(request.body, request.headers)).toMatchObject({
      id: res.json.event_id,
      type: "webhook.test",
      account_id: account.id,
      data: { webhook_id: hook.id },
    });
    await waitForDeliveryStatus(account, hook.id, res.json.delivery.id, "delivered");

    await call("PATCH", `/v1/whatsapp/webhooks/${hook.id}`, { key: account.key, body: { enabled: false } });
    const disabled = await call("POST", `/v1/whatsapp/webhooks/${hook.id}/test`, { key: account.key });
    expect(disabled.status).toBe(409);
  });

  it("delivers only what each webhook's events, session and filters ask for", async () => {
    const account = await createAccount();
    const sessionA = newSessionRow({ accountId: account.id, sandbox: true, connectionMode: "on_demand", settings: {} });
    const sessionB = newSessionRow({ accountId: account.id, sandbox: true, connectionMode: "on_demand", settings: {} });
    await database(env).insert(sessions).values([sessionA, sessionB]);

    const ep = { groups: newEndpoint(), images: newEndpoint(), mine: newEndpoint(), sessionA: newEndpoint(), legacy: newEndpoint(), chat: newEndpoint(), off: newEndpoint() };
    const hooks = {
      groups: await createWebhook(account, { url: ep.groups.url, filters: { chat_types: ["group"] } }),
      images: await createWebhook(account, { url: ep.images.url, filters: { message_types: ["image"], from_me: false } }),
      mine: await createWebhook(account, { url: ep.mine.url, filters: { from_me: true } }),
      sessionA: await createWebhook(account, { url: ep.sessionA.url, whatsapp_session_id: sessionA.id, events: ["session.status"] }),
      legacy: await createWebhook(account, { url: ep.legacy.url, events: ["onMessage"] }),
      chat: await createWebhook(account, { url: ep.chat.url, filters: { chat_ids: ["+229 97 00 00 02"] } }),
      off: await createWebhook(account, { url: ep.off.url, enabled: false }),
    };
    const emitted = {
      groupText: await emitEvent(env, { accountId: account.id, sessionId: sessionA.id, type: "message.received", data: incoming({ chat_id: "120363000000000001@g.us" }) }),
      contactImage: await emitEvent(env, { accountId: account.id, sessionId: sessionA.id, type: "message.received", data: incoming({ type: "image", chat_id: "22997000002@s.whatsapp.net" }) }),
      ownText: await emitEvent(env, { accountId: account.id, sessionId: sessionB.id, type: "message.sent", data: incoming({ from_me: true, direction: "outgoing", chat_id: undefined, to_number: "22997000002" }) }),
      statusA: await emitEvent(env, { accountId: account.id, sessionId: sessionA.id, type: "session.status", data: { status: "connected", reason: null } }),
      statusB: await emitEvent(env, { accountId: account.id, sessionId: sessionB.id, type: "session.status", data: { status: "connected", reason: null } }),
    };
    const expected: Record<keyof typeof hooks, (keyof typeof emitted)[]> = {
      groups: ["groupText", "statusA", "statusB"],
      images: ["contactImage", "statusA", "statusB"],
      mine: ["ownText", "statusA", "statusB"],
      sessionA: ["statusA"],
      legacy: ["groupText", "contactImage"],
      chat: ["contactImage", "ownText", "statusA", "statusB"],
      off: [],
    };
    for (const name of Object.keys(hooks) as (keyof typeof hooks)[]) {
      const wanted = expected[name].map((e) => emitted[e].eventId).sort();
      const requests = wanted.length ? await waitForRequests(ep[name].key, wanted.length) : [];
      const page = await deliveries(account, hooks[name].id, "?limit=100");
      expect(page.deliveries.map((d) => d.event_id).sort(), name).toEqual(wanted);
      expect(requests.map((r) => r.headers["webhook-id"]).sort(), name).toEqual(wanted);
    }
    // Nothing else arrived late at the hooks that should have stayed quiet.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await received(ep.off.key)).toEqual([]);
    expect(await received(ep.sessionA.key)).toHaveLength(1);
  });

  it("POSTs per-message callbacks to their URL with the callback data, unsigned", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    const { eventId, deliveryIds } = await emitEvent(env, {
      accountId: account.id,
      type: "message.delivered",
      data: incoming({ from_me: true, status: "delivered" }),
      callback: { url: endpoint.url, data: "order-42" },
    });
    expect(deliveryIds).toHaveLength(1);
    const [request] = await waitForRequests(endpoint.key, 1);
    expect(request.headers["webhook-id"]).toBe(eventId);
    expect(request.headers["webhook-timestamp"]).toMatch(/^\d+$/);
    expect(request.headers["webhook-signature"]).toBeUndefined();
    const body = JSON.parse(request.body);
    expect(body).toMatchObject({ id: eventId, type: "message.delivered", data: { status: "delivered", callback_data: "order-42" } });
  });

  it("pages the deliveries log newest first", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    const hook = await createWebhook(account, { url: endpoint.url });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await emitEvent(env, { accountId: account.id, type: "message.received", data: incoming({ content: `n${i}` }) })).eventId);
      await new Promise((r) => setTimeout(r, 5));
    }
    const first = await deliveries(account, hook.id, "?limit=2");
    expect(first.deliveries.map((d) => d.event_id)).toEqual([ids[2], ids[1]]);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await deliveries(account, hook.id, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.deliveries.map((d) => d.event_id)).toEqual([ids[0]]);
    expect(second.next_cursor).toBeNull();
    const bad = await call("GET", `/v1/whatsapp/webhooks/${hook.id}/deliveries?cursor=nonsense`, { key: account.key });
    expect(bad.status).toBe(422);
  });

  it("drops the queued deliveries of a deleted webhook", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    await planResponses(endpoint.key, [], 503);
    const hook = await createWebhook(account, { url: endpoint.url });
    await emitEvent(env, { accountId: account.id, type: "message.received", data: incoming() });
    await waitForRequests(endpoint.key, 1);
    expect((await call("DELETE", `/v1/whatsapp/webhooks/${hook.id}`, { key: account.key })).status).toBe(200);
    const countAfterDelete = (await received(endpoint.key)).length;
    await new Promise((r) => setTimeout(r, 2500));
    // At most one attempt that was already in flight.
    expect((await received(endpoint.key)).length).toBeLessThanOrEqual(countAfterDelete + 1);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE webhook_id = ?").bind(hook.id).first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });
});
