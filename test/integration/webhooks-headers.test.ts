import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { newEndpoint, waitForRequests } from "../helpers/webhook-receiver";

// Custom webhook headers hold the receiver's tokens: shown in the creation response only, then
// names with masked values; deliveries still carry the real values.

async function storedHeaders(id: string): Promise<Record<string, string> | null> {
  const row = await env.DB.prepare("SELECT headers FROM webhooks WHERE id = ?").bind(id).first<{ headers: string | null }>();
  return row?.headers ? JSON.parse(row.headers) : null;
}

describe("webhook custom headers", () => {
  it("are echoed on creation, masked on GET, list and PATCH, and sent for real", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    const headers = { "X-Api-Key": "tok-3f9a1c77", Authorization: "Bearer receiver-secret-42" };
    const created = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: endpoint.url, headers } });
    expect(created.status, created.text).toBe(201);
    expect(created.json.webhook.headers).toEqual(headers);
    const id: string = created.json.webhook.id;
    const masked = { "X-Api-Key": "***", Authorization: "***" };

    const one = await call("GET", `/v1/whatsapp/webhooks/${id}`, { key: account.key });
    expect(one.status).toBe(200);
    expect(one.json.webhook.headers).toEqual(masked);
    const list = await call("GET", "/v1/whatsapp/webhooks", { key: account.key });
    expect(list.json.webhooks[0].headers).toEqual(masked);
    const patched = await call("PATCH", `/v1/whatsapp/webhooks/${id}`, { key: account.key, body: { enabled: true } });
    expect(patched.json.webhook.headers).toEqual(masked);
    for (const res of [one, list, patched]) {
      expect(res.text).not.toContain("tok-3f9a1c77");
      expect(res.text).not.toContain("receiver-secret-42");
    }

    // The receiver gets the real values.
    const test = await call("POST", `/v1/whatsapp/webhooks/${id}/test`, { key: account.key });
    expect(test.status, test.text).toBe(202);
    const [request] = await waitForRequests(endpoint.key, 1);
    expect(request.headers["x-api-key"]).toBe("tok-3f9a1c77");
    expect(request.headers.authorization).toBe("Bearer receiver-secret-42");
  });

  it("a PATCH that sends the masked values back keeps the stored ones", async () => {
    const account = await createAccount();
    const created = await call("POST", "/v1/whatsapp/webhooks", {
      key: account.key,
      body: { url: newEndpoint().url, headers: { "X-Api-Key": "keep-me", "X-Tenant": "old" } },
    });
    const id: string = created.json.webhook.id;
    const read = (await call("GET", `/v1/whatsapp/webhooks/${id}`, { key: account.key })).json.webhook;

    // Read, change one value, write back: the untouched (masked) value is kept, not "***".
    const res = await call("PATCH", `/v1/whatsapp/webhooks/${id}`, { key: account.key, body: { headers: { ...read.headers, "X-Tenant": "new", "x-extra": "e" } } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.webhook.headers).toEqual({ "X-Api-Key": "***", "X-Tenant": "***", "x-extra": "***" });
    expect(await storedHeaders(id)).toEqual({ "X-Api-Key": "keep-me", "X-Tenant": "new", "x-extra": "e" });

    // A masked value for a header that has no stored value: 422 naming it, nothing changed.
    const bad = await call("PATCH", `/v1/whatsapp/webhooks/${id}`, { key: account.key, body: { headers: { "X-Api-Key": "***", "X-New": "***" }, enabled: false } });
    expect(bad.status, bad.text).toBe(422);
    expect(bad.json.error.details).toEqual([expect.objectContaining({ field: "headers.X-New", in: "body", code: "masked_value" })]);
    expect(await storedHeaders(id)).toEqual({ "X-Api-Key": "keep-me", "X-Tenant": "new", "x-extra": "e" });
    expect((await call("GET", `/v1/whatsapp/webhooks/${id}`, { key: account.key })).json.webhook.enabled).toBe(true);

    // Creating with a masked value is refused: "***" is never stored.
    const masked = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: newEndpoint().url, headers: { "X-Api-Key": "***" } } });
    expect(masked.status, masked.text).toBe(422);
    expect(masked.json.error.details[0].field).toBe("headers.X-Api-Key");
    expect((await call("GET", "/v1/whatsapp/webhooks", { key: account.key })).json.webhooks).toHaveLength(1);
  });

  it("an idempotent replay of the creation shows masked values, like the secret it omits", async () => {
    const account = await createAccount();
    const body = { url: newEndpoint().url, headers: { "X-Api-Key": "replay-token-77" } };
    const idem = { "Idempotency-Key": `wh-${crypto.randomUUID()}` };
    const first = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body, headers: idem });
    expect(first.json.webhook.headers).toEqual({ "X-Api-Key": "replay-token-77" });
    const again = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body, headers: idem });
    expect(again.status, again.text).toBe(201);
    expect(again.json.webhook).toEqual({ ...first.json.webhook, headers: { "X-Api-Key": "***" }, secret: null });
    const stored = await env.DB.prepare("SELECT response FROM idempotency_keys WHERE key = ?").bind(idem["Idempotency-Key"]).first<{ response: string }>();
    expect(stored!.response).not.toContain("replay-token-77");
  });

  it("refuses header names that differ only in case", async () => {
    const account = await createAccount();
    const created = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: newEndpoint().url, headers: { "X-Api-Key": "a", "x-api-key": "b" } } });
    expect(created.status, created.text).toBe(422);
    expect(created.json.error.details).toEqual([expect.objectContaining({ field: "headers.x-api-key", in: "body", message: expect.stringContaining("case-insensitive") })]);
    expect((await call("GET", "/v1/whatsapp/webhooks", { key: account.key })).json.webhooks).toEqual([]);

    const ok = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: newEndpoint().url, headers: { "X-Api-Key": "a" } } });
    const patched = await call("PATCH", `/v1/whatsapp/webhooks/${ok.json.webhook.id}`, { key: account.key, body: { headers: { "X-API-KEY": "***", "x-api-key": "c" } } });
    expect(patched.status, patched.text).toBe(422);
    expect(await storedHeaders(ok.json.webhook.id)).toEqual({ "X-Api-Key": "a" });
  });

  it("a PATCH moving the url to another origin must give the header values again", async () => {
    const account = await createAccount();
    const first = newEndpoint();
    const created = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: first.url, headers: { "X-Api-Key": "for-first-receiver" } } });
    const id: string = created.json.webhook.id;
    const elsewhere = "https://other-receiver.example/hook";
    expect(new URL(elsewhere).origin).not.toBe(new URL(first.url).origin);

    // Masked values, or no headers at all: refused, nothing changed.
    const masked = await call("PATCH", `/v1/whatsapp/webhooks/${id}`, { key: account.key, body: { url: elsewhere, headers: { "X-Api-Key": "***" } } });
    expect(masked.status, masked.text).toBe(422);
    expect(masked.json.error.details).toEqual([
      expect.objectContaining({ field: "headers.X-Api-Key", code: "masked_value", message: expect.stringContaining("another origin") }),
    ]);
    const omitted = await call("PATCH", `/v1/whatsapp/webhooks/${id}`, { key: account.key, body: { url: elsewhere } });
    expect(omitted.status, omitted.text).toBe(422);
    expect(omitted.json.error.details).toEqual([expect.objectContaining({ field: "headers", code: "headers_required" })]);
    expect((await call("GET", `/v1/whatsapp/webhooks/${id}`, { key: account.key })).json.webhook.url).toBe(first.url);
    expect(await storedHeaders(id)).toEqual({ "X-Api-Key": "for-first-receiver" });

    // The same origin keeps them; a new origin takes new values or none.
    const samePath = `${first.url}?v=2`;
    const same = await call("PATCH", `/v1/whatsapp/webhooks/${id}`, { key: account.key, body: { url: samePath, headers: { "X-Api-Key": "***" } } });
    expect(same.status, same.text).toBe(200);
    expect(await storedHeaders(id)).toEqual({ "X-Api-Key": "for-first-receiver" });
    const moved = await call("PATCH", `/v1/whatsapp/webhooks/${id}`, { key: account.key, body: { url: elsewhere, headers: { "X-Api-Key": "for-other" } } });
    expect(moved.status, moved.text).toBe(200);
    expect(await storedHeaders(id)).toEqual({ "X-Api-Key": "for-other" });
    const dropped = await call("PATCH", `/v1/whatsapp/webhooks/${id}`, { key: account.key, body: { url: first.url, headers: {} } });
    expect(dropped.status, dropped.text).toBe(200);
    expect(await storedHeaders(id)).toBeNull();
  });
});
