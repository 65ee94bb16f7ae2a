import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";

describe("API key authentication", () => {
  it("rejects a request without an Authorization header", async () => {
    const res = await call("GET", "/v1/account");
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ success: false, error: { code: "missing_api_key" } });
  });

  it("rejects a header that is not a Bearer token", async () => {
    const res = await call("GET", "/v1/account", { headers: { Authorization: "Basic dXNlcjpwYXNz" } });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("malformed_authorization");
  });

  it("rejects a malformed key", async () => {
    const res = await call("GET", "/v1/account", { key: "not-a-key" });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("invalid_api_key");
  });

  it("rejects a well-formed key that does not exist", async () => {
    const res = await call("GET", "/v1/account", { key: `wag_${"A".repeat(43)}` });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("invalid_api_key");
  });

  it("rejects a revoked key, and only that key", async () => {
    const account = await createAccount();
    const second = await call("POST", "/v1/keys", { key: account.key, body: { name: "second" } });
    expect(second.status).toBe(201);
    const revoke = await call("DELETE", `/v1/keys/${second.json.api_key.id}`, { key: account.key });
    expect(revoke.status).toBe(200);

    const res = await call("GET", "/v1/account", { key: second.json.api_key.key });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("revoked_api_key");
    expect((await call("GET", "/v1/account", { key: account.key })).status).toBe(200);
  });

  it("accepts a valid key and resolves its account", async () => {
    const account = await createAccount();
    const res = await call("GET", "/v1/account", { key: account.key });
    expect(res.status).toBe(200);
    expect(res.json.account.id).toBe(account.id);
  });
});
