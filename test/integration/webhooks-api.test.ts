import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { sessions } from "../../src/db/schema";
import { newSessionRow } from "../../src/db/sessions.repo";
import { call, createAccount } from "../helpers/api";
import { newEndpoint } from "../helpers/webhook-receiver";

async function insertSession(accountId: string): Promise<string> {
  const row = newSessionRow({ accountId, sandbox: true, connectionMode: "on_demand", settings: {} });
  await database(env).insert(sessions).values(row);
  return row.id;
}

describe("/v1/whatsapp/webhooks CRUD", () => {
  it("creates a webhook whose secret is shown once, then lists, reads, updates and deletes it", async () => {
    const account = await createAccount();
    const sessionId = await insertSession(account.id);
    const { url } = newEndpoint();
    const created = await call("POST", "/v1/whatsapp/webhooks", {
      key: account.key,
      body: {
        url,
        events: ["message.received", "onAck"],
        whatsapp_session_id: sessionId,
        headers: { "X-Api-Key": "receiver-key" },
        filters: { chat_types: ["contact"], message_types: ["Text"], from_me: false },
      },
    });
    expect(created.status).toBe(201);
    const hook = created.json.webhook;
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(hook).toMatchObject({
      url,
      events: ["message.received", "message.sent", "message.delivered", "message.read", "message.failed"],
      whatsapp_session_id: sessionId,
      headers: { "X-Api-Key": "receiver-key" },
      filters: { chat_types: ["contact"], message_types: ["text"], from_me: false },
      enabled: true,
    });
    expect(hook.created_at).toMatch(/\.\d{6}Z$/);
    const secret: string = hook.secret;

    const list = await call("GET", "/v1/whatsapp/webhooks", { key: account.key });
    expect(list.status).toBe(200);
    expect(list.json.webhooks.map((w: { id: string }) => w.id)).toEqual([hook.id]);
    expect(list.text).not.toContain(secret);

    const one = await call("GET", `/v1/whatsapp/webhooks/${hook.id}`, { key: account.key });
    expect(one.status).toBe(200);
    expect(one.json.webhook).not.toHaveProperty("secret");
    expect(one.text).not.toContain(secret);

    const patched = await call("PATCH", `/v1/whatsapp/webhooks/${hook.id}`, {
      key: account.key,
      body: { events: ["onStateChanged", "session.qr"], enabled: false, filters: null, headers: null, whatsapp_session_id: null },
    });
    expect(patched.status).toBe(200);
    expect(patched.json.webhook).toMatchObject({
      events: ["session.status", "session.qr"],
      enabled: false,
      filters: {},
      headers: {},
      whatsapp_session_id: null,
    });
    expect(patched.text).not.toContain(secret);

    const deleted = await call("DELETE", `/v1/whatsapp/webhooks/${hook.id}`, { key: account.key });
    expect(deleted.status).toBe(200);
    expect((await call("GET", `/v1/whatsapp/webhooks/${hook.id}`, { key: account.key })).status).toBe(404);
  });

  it("defaults to every event but the opt-in ones and accepts the session_... id", async () => {
    const account = await createAccount();
    const sessionUuid = await insertSession(account.id);
    const created = await call("POST", "/v1/whatsapp/webhooks", {
      key: account.key,
      body: { url: newEndpoint().url, whatsapp_session_id: `session_${sessionUuid}` },
    });
    expect(created.status).toBe(201);
    expect(created.json.webhook.events).toEqual([
      "message.received",
      "message.sent",
      "message.delivered",
      "message.read",
      "message.failed",
      "session.status",
      "session.qr",
      "group.joined",
      "group.left",
      "group.participants",
      "group.updated",
      "group.join_request",
      "chat.updated",
    ]);
    expect(created.json.webhook.whatsapp_session_id).toBe(sessionUuid);
  });

  it("rejects invalid input with 422 naming the field", async () => {
    const account = await createAccount();
    const good = newEndpoint().url;
    const cases: [Record<string, unknown>, string][] = [
      [{ url: "not a url" }, "url"],
      [{ url: "ftp://example.com/hook" }, "url"],
      [{ url: "https://user:secret@example.com/hook" }, "url"],
      [{ url: good, events: ["message.received", "message.exploded"] }, "events.1"],
      [{ url: good, events: [] }, "events"],
      [{ url: good, headers: { "webhook-signature": "v1,forged" } }, "headers.webhook-signature"],
      [{ url: good, headers: { "Bad Header": "x" } }, "headers.Bad Header"],
      [{ url: good, filters: { chat_types: ["planet"] } }, "filters.chat_types.0"],
      [{ url: good, filters: { chat_ids: ["hello"] } }, "filters.chat_ids.0"],
      [{ url: good, filters: { mentions: ["someone"] } }, "filters.mentions.0"],
      [{ url: good, filters: { settings_types: ["groups"], chat_types: ["group"] } }, "filters.chat_types"],
      [{ url: good, whatsapp_session_id: crypto.randomUUID() }, "whatsapp_session_id"],
    ];
    for (const [body, field] of cases) {
      const res = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.json.error.code).toBe("validation_failed");
      expect(res.json.error.details.map((d: { field?: string }) => d.field), JSON.stringify(body)).toContain(field);
    }
    const creds = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: "https://user:secret@example.com/hook" } });
    expect(creds.json.error.details[0].message).toMatch(/Credentials/);
    expect((await call("GET", "/v1/whatsapp/webhooks", { key: account.key })).json.webhooks).toEqual([]);
  });

  it("honours Idempotency-Key on create", async () => {
    const account = await createAccount();
    const body = { url: newEndpoint().url, events: ["message.received"] };
    const headers = { "Idempotency-Key": `wh-${crypto.randomUUID()}` };
    const first = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body, headers });
    const again = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body, headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    // The same webhook, but the secret is shown only once: the replay does not repeat it.
    expect(first.json.webhook.secret).toMatch(/^whsec_/);
    expect(again.json.webhook).toEqual({ ...first.json.webhook, secret: null });
    const stored = await env.DB.prepare("SELECT response FROM idempotency_keys WHERE key = ?").bind(headers["Idempotency-Key"]).first<{ response: string }>();
    expect(stored!.response).not.toContain("whsec_");
    expect((await call("GET", "/v1/whatsapp/webhooks", { key: account.key })).json.webhooks).toHaveLength(1);
    const reused = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { ...body, events: ["session.qr"] }, headers });
    expect(reused.status).toBe(422);
    expect(reused.json.error.code).toBe("idempotency_key_reused");
  });

  it("requires an API key", async () => {
    expect((await call("GET", "/v1/whatsapp/webhooks")).status).toBe(401);
    expect((await call("POST", "/v1/whatsapp/webhooks", { body: { url: newEndpoint().url } })).status).toBe(401);
  });

  it("walls tenants off on every webhook route", async () => {
    const owner = await createAccount();
    const other = await createAccount();
    const created = await call("POST", "/v1/whatsapp/webhooks", { key: owner.key, body: { url: newEndpoint().url } });
    const id = created.json.webhook.id;
    const test = await call("POST", `/v1/whatsapp/webhooks/${id}/test`, { key: owner.key });
    expect(test.status).toBe(202);
    const deliveryId = test.json.delivery.id;

    const attempts: [string, string, unknown?][] = [
      ["GET", `/v1/whatsapp/webhooks/${id}`],
      ["PATCH", `/v1/whatsapp/webhooks/${id}`, { enabled: false }],
      ["DELETE", `/v1/whatsapp/webhooks/${id}`],
      ["POST", `/v1/whatsapp/webhooks/${id}/test`],
      ["GET", `/v1/whatsapp/webhooks/${id}/deliveries`],
      ["POST", `/v1/whatsapp/webhooks/${id}/deliveries/${deliveryId}/replay`],
    ];
    for (const [method, path, body] of attempts) {
      const res = await call(method, path, { key: other.key, body });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json.error.code).toBe("not_found");
    }
    expect((await call("GET", "/v1/whatsapp/webhooks", { key: other.key })).json.webhooks).toEqual([]);

    // The other account's own webhook cannot reach this delivery either.
    const theirs = await call("POST", "/v1/whatsapp/webhooks", { key: other.key, body: { url: newEndpoint().url } });
    const cross = await call("POST", `/v1/whatsapp/webhooks/${theirs.json.webhook.id}/deliveries/${deliveryId}/replay`, { key: other.key });
    expect(cross.status).toBe(404);
    // The owner's webhook is untouched.
    const still = await call("GET", `/v1/whatsapp/webhooks/${id}`, { key: owner.key });
    expect(still.json.webhook.enabled).toBe(true);
  });

  it("shows the webhook routes in the OpenAPI document", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(Object.keys(res.json.paths)).toEqual(
      expect.arrayContaining([
        "/v1/whatsapp/webhooks",
        "/v1/whatsapp/webhooks/{id}",
        "/v1/whatsapp/webhooks/{id}/test",
        "/v1/whatsapp/webhooks/{id}/deliveries",
        "/v1/whatsapp/webhooks/{id}/deliveries/{delivery_id}/replay",
      ]),
    );
    expect(res.text).not.toMatch(/whsec_[A-Za-z0-9+/]{43}=/);
  });
});
