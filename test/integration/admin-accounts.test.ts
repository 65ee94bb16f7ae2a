import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call } from "../helpers/api";

describe("admin bootstrap", () => {
  it("creates an account and returns its first key, which works", async () => {
    const res = await call("POST", "/v1/admin/accounts", {
      key: ADMIN_TOKEN,
      body: { name: "Acme", plan: "pro", balance: 5000 },
    });
    expect(res.status).toBe(201);
    expect(res.json.account).toMatchObject({ name: "Acme", plan: "pro", balance: 5000, message_cost: 10 });
    expect(res.json.api_key.key).toMatch(/^wag_[A-Za-z0-9_-]{43}$/);

    const me = await call("GET", "/v1/account", { key: res.json.api_key.key });
    expect(me.status).toBe(200);
    expect(me.json.account.id).toBe(res.json.account.id);
  });

  it("stores only the hash of the key", async () => {
    const res = await call("POST", "/v1/admin/accounts", { key: ADMIN_TOKEN, body: { name: "Hashed" } });
    const secret: string = res.json.api_key.key;
    const row = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(res.json.api_key.id).first();
    expect(Object.values(row!)).not.toContain(secret);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(row!.hash).toBe(hex);
  });

  it("refuses without the admin token", async () => {
    const res = await call("POST", "/v1/admin/accounts", { body: { name: "Nope" } });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("missing_api_key");
  });

  it("refuses a wrong admin token", async () => {
    const res = await call("POST", "/v1/admin/accounts", { key: "wrong-token", body: { name: "Nope" } });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("invalid_admin_token");
  });

  it("refuses an account API key in place of the admin token", async () => {
    const created = await call("POST", "/v1/admin/accounts", { key: ADMIN_TOKEN, body: { name: "Tenant" } });
    const res = await call("POST", "/v1/admin/accounts", { key: created.json.api_key.key, body: { name: "Escalate" } });
    expect(res.status).toBe(401);
  });

  it("names every invalid field", async () => {
    const res = await call("POST", "/v1/admin/accounts", {
      key: ADMIN_TOKEN,
      body: { name: "", plan: "gold", balance: -1 },
    });
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe("validation_failed");
    const fields = res.json.error.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(["balance", "name", "plan"]);
  });
});
