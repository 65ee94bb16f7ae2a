// Input hardening at the API boundary (issue 9): list-filter cap, methods, nesting depth,
// Idempotency-Key on every creating POST, percent-decoded path parameters, body size and media
// type, and text that cannot be stored.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, createAccount } from "../helpers/api";

const envelope = (code: string) => ({ success: false, error: { code, message: expect.any(String), details: expect.anything() } });

/** A request with exactly these bytes and headers (no JSON encoding, no Content-Type added). */
const raw = (method: string, path: string, key: string, body: BodyInit | null, headers: Record<string, string> = {}) =>
  call(method, path, { key, rawBody: body, headers });

const keyCount = async (key: string) => (await call("GET", "/v1/keys", { key })).json.api_keys.length;

describe("list filters", () => {
  it("caps filter[to_number][] at 50 values with a 422 naming the limit, on both list routes", async () => {
    const account = await createAccount();
    const session = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true, name: "filters" } });
    expect(session.status).toBe(201);
    const many = Array.from({ length: 300 }, (_, i) => `filter[to_number][]=1555000${String(i).padStart(4, "0")}`).join("&");
    for (const path of ["/v1/whatsapp/messages", `/v1/whatsapp/messages/${session.json.session.id}/session`]) {
      const res = await call("GET", `${path}?${many}`, { key: account.key });
      expect(res.status).toBe(422);
      expect(res.json).toEqual(envelope("validation_failed"));
      expect(res.json.error.details).toContainEqual(expect.objectContaining({ field: "filter.to_number", in: "query", message: "At most 50 values." }));
    }
    const atCap = Array.from({ length: 50 }, (_, i) => `filter[to_number][]=1555000${String(i).padStart(4, "0")}`).join("&");
    const ok = await call("GET", `/v1/whatsapp/messages/${session.json.session.id}/session?${atCap}&filter[status]=sent`, { key: account.key });
    expect(ok.status).toBe(200);
  });

  it("documents the cap in the OpenAPI description", async () => {
    const doc = (await call("GET", "/openapi.json")).json;
    const filter = doc.paths["/v1/whatsapp/messages"].get.parameters.find((p: any) => p.name === "filter");
    expect(JSON.stringify(filter ?? doc.paths["/v1/whatsapp/messages"].get.parameters)).toContain("at most 50");
  });
});

describe("methods", () => {
  it.each(["PROPFIND", "TRACE", "OPTIONS", "PATCH"])("answers %s on a known path with 405, Allow and the allowed methods in the envelope", async (method) => {
    const res = await call(method, "/v1/keys");
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toBe("POST, GET");
    expect(res.json).toEqual({ success: false, error: { code: "method_not_allowed", message: expect.any(String), details: { allow: ["POST", "GET"] } } });
  });

  it("answers an unknown path with the 404 envelope whatever the method", async () => {
    const res = await call("PROPFIND", "/v1/nothing-here");
    expect(res.status).toBe(404);
    expect(res.json).toEqual(envelope("not_found"));
  });
});

describe("JSON nesting", () => {
  it("refuses a batch item nested 10,000 deep (with Idempotency-Key) with 400 naming the limit, not a 500", async () => {
    const account = await createAccount();
    const deep = "[".repeat(10_000) + "]".repeat(10_000);
    const res = await raw("POST", "/v1/whatsapp/messages/batch", account.key, `{"messages":[{"whatsapp_session_id":"x","deep":${deep}}]}`, {
      "Content-Type": "application/json",
      "Idempotency-Key": "deep-1",
    });
    expect(res.status).toBe(400);
    expect(res.json).toEqual(envelope("json_too_deep"));
    expect(res.json.error.message).toContain("32");
  });

  it("still accepts 32 levels", async () => {
    const account = await createAccount();
    const nested = "[".repeat(29) + "]".repeat(29); // messages[ {item} [ ...29 ] ] = 32 levels
    const res = await raw("POST", "/v1/whatsapp/messages/batch", account.key, `{"messages":[{"x":${nested}}]}`, { "Content-Type": "application/json" });
    expect(res.status).toBe(200);
    expect(res.json.data.rejected).toBe(1);
  });
});

describe("Idempotency-Key on every creating POST", () => {
  it("a repeated session creation returns the same session and creates one", async () => {
    const account = await createAccount();
    const headers = { "Idempotency-Key": "create-session-1" };
    const first = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true, name: "once" }, headers });
    const second = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { name: "once", sandbox: true }, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get("Idempotent-Replayed")).toBe("true");
    expect(second.json.session.id).toBe(first.json.session.id);
    // The first QR is stale by the time of a replay: the replay says to read GET .../qr-code.
    expect(first.json.qr_code).toMatch(/^data:image\/png;base64,/);
    expect(second.json.qr_code).toBeNull();
    const list = await call("GET", "/v1/whatsapp/sessions", { key: account.key });
    expect(list.json.sessions.filter((s: any) => s.name === "once")).toHaveLength(1);
  });

  it("a repeated key creation returns the same key; another body with the key is 422", async () => {
    const account = await createAccount();
    const before = await keyCount(account.key);
    const headers = { "Idempotency-Key": "create-key-1" };
    const first = await call("POST", "/v1/keys", { key: account.key, body: { name: "ci" }, headers });
    const again = await call("POST", "/v1/keys", { key: account.key, body: { name: "ci" }, headers });
    expect(first.status).toBe(201);
    expect(again.json.api_key.id).toBe(first.json.api_key.id);
    // The secret is shown once: not in the replay, not in the stored answer.
    expect(first.json.api_key.key).toMatch(/^wag_/);
    expect(again.json.api_key.key).toBeNull();
    const stored = await env.DB.prepare("SELECT response FROM idempotency_keys WHERE account_id = ? AND key = ?").bind(account.id, "create-key-1").first<{ response: string }>();
    expect(stored?.response).not.toContain(first.json.api_key.key);
    expect(await keyCount(account.key)).toBe(before + 1);
    const other = await call("POST", "/v1/keys", { key: account.key, body: { name: "other" }, headers });
    expect(other.status).toBe(422);
    expect(other.json.error.code).toBe("idempotency_key_reused");
    expect(await keyCount(account.key)).toBe(before + 1);
  });

  it("a request whose handler fails (429 session limit) releases its key: the same request succeeds once a slot is free", async () => {
    const account = await createAccount(); // free plan: 10 sessions
    const at = new Date().toISOString();
    const fillers = Array.from({ length: 10 }, () => crypto.randomUUID());
    await env.DB.batch(
      fillers.map((id) =>
        env.DB.prepare(
          "INSERT INTO sessions (id, account_id, session_id, name, status, sandbox, connection_mode, settings, created_at, updated_at) VALUES (?, ?, ?, 'filler', 'disconnected', 1, 'on_demand', '{}', ?, ?)",
        ).bind(id, account.id, `filler-${id}`, at, at),
      ),
    );
    const headers = { "Idempotency-Key": "limit-1" };
    const refused = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true, name: "eleventh" }, headers });
    expect(refused.status).toBe(429);
    expect(refused.json.error.code).toBe("session_limit_reached");
    // The reservation was taken (the handler ran) and given back: no row, in progress or answered.
    const row = await env.DB.prepare("SELECT status_code FROM idempotency_keys WHERE account_id = ? AND key = ?").bind(account.id, "limit-1").first();
    expect(row).toBeNull();
    await env.DB.prepare("DELETE FROM sessions WHERE id = ?").bind(fillers[0]).run();
    const retried = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true, name: "eleventh" }, headers });
    expect(retried.status).toBe(201);
    expect(retried.headers.get("Idempotent-Replayed")).toBeNull();
    const replayed = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true, name: "eleventh" }, headers });
    expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replayed.json.session.id).toBe(retried.json.session.id);
  });

  it("a request refused before its handler (422) stores nothing and leaves the key free", async () => {
    const account = await createAccount();
    const headers = { "Idempotency-Key": "invalid-first" };
    const bad = await call("POST", "/v1/keys", { key: account.key, body: { name: 12 }, headers });
    expect(bad.status).toBe(422);
    const row = await env.DB.prepare("SELECT 1 FROM idempotency_keys WHERE account_id = ? AND key = ?").bind(account.id, "invalid-first").first();
    expect(row).toBeNull();
    const good = await call("POST", "/v1/keys", { key: account.key, body: { name: "fine" }, headers });
    expect(good.status).toBe(201);
  });

  it.each([
    ["POST", "/v1/whatsapp/sessions/any/pairing-code", "an expired linking code"],
    ["POST", "/v1/whatsapp/sessions/any/logout", "a harmless repeat"],
    ["POST", "/v1/whatsapp/webhooks/any/test", "a stale test outcome"],
    ["POST", "/v1/whatsapp/webhooks/any/deliveries/any/replay", "a harmless repeat"],
    ["POST", "/v1/sandbox/sessions/any/scan", "a stale scan"],
    ["POST", "/v1/sandbox/sessions/any/faults", "a one-off fault"],
    ["POST", "/v1/sandbox/phones/15550001001/pairing-code", "a one-time code"],
    ["POST", "/v1/sandbox/phones/15550001001/receipts", "a harmless repeat"],
    ["POST", "/v1/sandbox/clients/any/scan", "a stale scan"],
  ])("refuses the header with 400 on the action %s %s (a replay would give %s)", async (method, path) => {
    const account = await createAccount();
    const res = await call(method, path, { key: account.key, body: {}, headers: { "Idempotency-Key": "action-1" } });
    expect(res.status).toBe(400);
    expect(res.json).toEqual(envelope("idempotency_not_supported"));
    const doc = (await call("GET", "/openapi.json")).json;
    const documented = JSON.stringify(doc.paths[path.replace(/\/any/g, "/{id}").replace("/deliveries/{id}", "/deliveries/{delivery_id}").replace("/clients/{id}", "/clients/{label}").replace("15550001001", "{phone_number}")].post.parameters ?? []);
    expect(documented).not.toContain("Idempotency-Key");
  });

  it("two concurrent twins create once: the other gets the first answer or 409 in progress", async () => {
    const account = await createAccount();
    const before = await keyCount(account.key);
    const headers = { "Idempotency-Key": "twin-1" };
    const twins = await Promise.all([1, 2, 3].map(() => call("POST", "/v1/keys", { key: account.key, body: { name: "twin" }, headers })));
    const created = twins.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((r) => r.json.api_key.id)).size).toBe(1);
    for (const r of twins.filter((t) => t.status !== 201)) expect(r.json.error.code).toBe("idempotency_key_in_progress");
    expect(await keyCount(account.key)).toBe(before + 1);
  });

  it("a key is per account: another account with the same key creates its own", async () => {
    const a = await createAccount();
    const b = await createAccount();
    const headers = { "Idempotency-Key": "shared-key" };
    const fromA = await call("POST", "/v1/keys", { key: a.key, body: { name: "k" }, headers });
    const fromB = await call("POST", "/v1/keys", { key: b.key, body: { name: "k" }, headers });
    expect(fromB.status).toBe(201);
    expect(fromB.json.api_key.id).not.toBe(fromA.json.api_key.id);
    expect(fromB.headers.get("Idempotent-Replayed")).toBeNull();
  });

  it("refuses the header with 400 where it is not supported (admin account creation)", async () => {
    const res = await call("POST", "/v1/admin/accounts", { key: ADMIN_TOKEN, body: { name: "idem" }, headers: { "Idempotency-Key": "admin-1" } });
    expect(res.status).toBe(400);
    expect(res.json).toEqual(envelope("idempotency_not_supported"));
  });
});

describe("query strings", () => {
  it("refuses a prototype key hidden behind `=` inside a bracket with 422 (qs cuts keys at `]=`)", async () => {
    const account = await createAccount();
    const res = await call("GET", "/v1/whatsapp/messages?filter[x=1][__proto__][callback_url]=http://attacker.invalid/x", { key: account.key });
    expect(res.status).toBe(422);
    expect(res.json.error.details).toEqual([expect.objectContaining({ in: "query", code: "forbidden_key", message: expect.stringContaining("__proto__") })]);
    expect(({} as Record<string, unknown>).callback_url).toBeUndefined();
  });
});

describe("path parameters", () => {
  it("are percent-decoded before validation: %2B15550001001 is +15550001001", async () => {
    const account = await createAccount();
    const phone = await call("POST", "/v1/sandbox/phones", { key: account.key, body: { phone_number: "15550001001", name: "Pat" } });
    expect(phone.status).toBe(201);
    const plain = await call("GET", "/v1/sandbox/phones/+15550001001/inbox", { key: account.key });
    const encoded = await call("GET", "/v1/sandbox/phones/%2B15550001001/inbox", { key: account.key });
    expect(plain.status).toBe(200);
    expect(encoded.status).toBe(200);
    expect(encoded.json).toEqual(plain.json);
  });

  it("a malformed percent-sequence is a 400 envelope", async () => {
    const account = await createAccount();
    const res = await call("GET", "/v1/sandbox/phones/%E0%A4%A/inbox", { key: account.key });
    expect(res.status).toBe(400);
    expect(res.json).toEqual(envelope("invalid_path"));
  });
});

describe("body size and media type", () => {
  it("answers 413 above 1 MiB (Content-Length) and stores nothing", async () => {
    const account = await createAccount();
    const before = await keyCount(account.key);
    const big = JSON.stringify({ name: "x".repeat(1024 * 1024) });
    const res = await raw("POST", "/v1/keys", account.key, big, { "Content-Type": "application/json" });
    expect(res.status).toBe(413);
    expect(res.json).toEqual(envelope("payload_too_large"));
    expect(await keyCount(account.key)).toBe(before);
  });

  it("answers 413 for a streamed body without Content-Length once it passes 1 MiB", async () => {
    const account = await createAccount();
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 40) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await raw("POST", "/v1/whatsapp/sessions", account.key, stream, { "Content-Type": "application/json" });
    expect(res.status).toBe(413);
    expect(res.json).toEqual(envelope("payload_too_large"));
    expect((await call("GET", "/v1/whatsapp/sessions", { key: account.key })).json.sessions).toHaveLength(0);
  });

  it.each([
    ["text/plain", "text/plain"],
    ["a form", "application/x-www-form-urlencoded"],
    ["XML", "application/xml"],
    ["no Content-Type", null],
    ["JSON in UTF-16", "application/json; charset=utf-16"],
  ])("answers 415 for JSON sent as %s and stores nothing", async (_label, type) => {
    const account = await createAccount();
    const before = await keyCount(account.key);
    const res = await raw("POST", "/v1/keys", account.key, JSON.stringify({ name: "typed" }), type ? { "Content-Type": type } : {});
    expect(res.status).toBe(415);
    expect(res.json).toEqual(envelope("unsupported_media_type"));
    expect(await keyCount(account.key)).toBe(before);
  });

  it("refuses a non-JSON body with 415 before reading it, even one larger than the cap", async () => {
    const account = await createAccount();
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled++ < 400) controller.enqueue(chunk); // 25 MiB if it were drained
        else controller.close();
      },
    });
    // The 24 MiB route: before the fix it read all 24 MiB, then answered 413.
    const res = await raw("POST", "/v1/sandbox/phones/15550001001/messages", account.key, stream, { "Content-Type": "text/plain" });
    expect(res.status).toBe(415);
    expect(res.json).toEqual(envelope("unsupported_media_type"));
    expect(pulled).toBeLessThan(40); // at most what the runtime buffers ahead, not the body
    const declared = await raw("POST", "/v1/keys", account.key, "x".repeat(2 * 1024 * 1024), { "Content-Type": "text/plain" });
    expect(declared.status).toBe(415);
  });

  it("takes application/json with a charset and +json types, and a bodyless POST without Content-Type", async () => {
    const account = await createAccount();
    expect((await raw("POST", "/v1/keys", account.key, '{"name":"a"}', { "Content-Type": "application/json; charset=utf-8" })).status).toBe(201);
    expect((await raw("POST", "/v1/keys", account.key, '{"name":"b"}', { "Content-Type": "application/merge-patch+json" })).status).toBe(201);
    expect((await raw("POST", "/v1/keys", account.key, null)).status).toBe(201);
  });
});

describe("text that cannot be stored", () => {
  it("refuses invalid UTF-8 with 400 instead of storing U+FFFD", async () => {
    const account = await createAccount();
    const bytes = new Uint8Array([...new TextEncoder().encode('{"name":"ab'), 0xff, 0xfe, ...new TextEncoder().encode('"}')]);
    const res = await raw("POST", "/v1/keys", account.key, bytes, { "Content-Type": "application/json" });
    expect(res.status).toBe(400);
    expect(res.json).toEqual(envelope("invalid_json"));
  });

  it.each([
    ["a lone surrogate", '{"name":"ab\\ud800"}', "lone_surrogate"],
    ["a NUL", '{"name":"ab\\u0000c"}', "control_character"],
    ["an escape character", '{"name":"\\u001b[31mred"}', "control_character"],
  ])("refuses %s in a name with 422 naming the field", async (_label, body, code) => {
    const account = await createAccount();
    const res = await raw("POST", "/v1/keys", account.key, body, { "Content-Type": "application/json" });
    expect(res.status).toBe(422);
    expect(res.json.error.details).toEqual([expect.objectContaining({ field: "name", in: "body", code })]);
  });

  it("refuses line breaks and tabs in names, subjects and file names (single-line fields)", async () => {
    const account = await createAccount();
    const key = await call("POST", "/v1/keys", { key: account.key, body: { name: "ci\nprod" } });
    expect(key.status).toBe(422);
    expect(key.json.error.details[0]).toMatchObject({ field: "name", in: "body", message: expect.stringContaining("single line") });
    const phone = await call("POST", "/v1/sandbox/phones", { key: account.key, body: { name: "Pat\tSmith" } });
    expect(phone.status).toBe(422);
    const group = await call("POST", "/v1/sandbox/groups", { key: account.key, body: { owner: "15550002001", subject: "a\r\nb", members: ["15550002002"] } });
    expect(group.status).toBe(422);
    expect(group.json.error.details[0]).toMatchObject({ field: "subject" });
  });

  it("refuses control characters in webhook header values and sandbox group subjects", async () => {
    const account = await createAccount();
    const hook = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: "https://example.com/h", headers: { "X-Token": "a\u0007b" } } });
    expect(hook.status).toBe(422);
    expect(hook.json.error.details[0]).toMatchObject({ field: "headers.X-Token", code: "control_character" });
    const group = await call("POST", "/v1/sandbox/groups", { key: account.key, body: { owner: "15550002001", subject: "team\u0000", members: ["15550002002"] } });
    expect(group.status).toBe(422);
    expect(group.json.error.details[0]).toMatchObject({ field: "subject", code: "control_character" });
  });

  it("reads limit as decimal digits only", async () => {
    const account = await createAccount();
    for (const limit of ["0x10", "1e1", "+5", " 5", "5.0"]) {
      const res = await call("GET", `/v1/whatsapp/messages?limit=${encodeURIComponent(limit)}`, { key: account.key });
      expect(res.status, limit).toBe(422);
      expect(res.json.error.details[0]).toMatchObject({ field: "limit", in: "query" });
    }
    expect((await call("GET", "/v1/whatsapp/messages?limit=16", { key: account.key })).json.meta.limit).toBe(16);
  });

  it("refuses dates that leave years 0000-9999 once in UTC", async () => {
    const account = await createAccount();
    const res = await call("GET", `/v1/whatsapp/messages?time_from=${encodeURIComponent("9999-12-31T23:59:59.999-23:59")}`, { key: account.key });
    expect(res.status).toBe(422);
    expect(res.json.error.details[0]).toMatchObject({ field: "time_from", in: "query" });
    const fine = await call("GET", `/v1/whatsapp/messages?time_from=${encodeURIComponent("9999-12-31T23:59:59.999+23:59")}`, { key: account.key });
    expect(fine.status).toBe(200);
  });
});
