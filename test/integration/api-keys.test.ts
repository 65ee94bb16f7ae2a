import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";

describe("/v1/keys", () => {
  it("creates a key shown once, lists keys without secrets, and revokes", async () => {
    const account = await createAccount();
    const created = await call("POST", "/v1/keys", { key: account.key, body: { name: "ci" } });
    expect(created.status).toBe(201);
    expect(created.json.api_key).toMatchObject({ name: "ci", revoked_at: null, last_used_at: null });
    const secret: string = created.json.api_key.key;
    expect(created.json.api_key.prefix).toBe(secret.slice(0, 12));

    const list = await call("GET", "/v1/keys", { key: account.key });
    expect(list.status).toBe(200);
    expect(list.json.api_keys.map((k: { name: string }) => k.name).sort()).toEqual(["ci", "default"]);
    expect(list.text).not.toContain(secret);
    for (const k of list.json.api_keys) expect(k).not.toHaveProperty("key");

    const revoked = await call("DELETE", `/v1/keys/${created.json.api_key.id}`, { key: account.key });
    expect(revoked.status).toBe(200);
    expect(revoked.json.api_key.revoked_at).toMatch(/\.\d{6}Z$/);
    expect(revoked.text).not.toContain(secret);
  });

  it("records when a key was last used", async () => {
    const account = await createAccount();
    await call("GET", "/v1/account", { key: account.key });
    // last_used_at is written after the response (waitUntil); poll briefly.
    let lastUsed: string | null = null;
    for (let i = 0; i < 20 && !lastUsed; i++) {
      const list = await call("GET", "/v1/keys", { key: account.key });
      lastUsed = list.json.api_keys.find((k: { id: string }) => k.id === account.keyId).last_used_at;
      if (!lastUsed) await new Promise((r) => setTimeout(r, 50));
    }
    expect(lastUsed).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  });

  it("defaults the name when the body is empty", async () => {
    const account = await createAccount();
    const created = await call("POST", "/v1/keys", { key: account.key });
    expect(created.status).toBe(201);
    expect(created.json.api_key.name).toBe("API key");
  });

  it("answers 404 for an unknown key id and 422 for a non-uuid id", async () => {
    const account = await createAccount();
    expect((await call("DELETE", `/v1/keys/${crypto.randomUUID()}`, { key: account.key })).status).toBe(404);
    const bad = await call("DELETE", "/v1/keys/123", { key: account.key });
    expect(bad.status).toBe(422);
    expect(bad.json.error.details[0]).toMatchObject({ field: "id", in: "path" });
  });

  it("walls accounts off from each other's keys", async () => {
    const alice = await createAccount();
    const bob = await createAccount();
    const bobsKeys = await call("GET", "/v1/keys", { key: bob.key });
    expect(bobsKeys.json.api_keys.map((k: { id: string }) => k.id)).toEqual([bob.keyId]);

    const steal = await call("DELETE", `/v1/keys/${alice.keyId}`, { key: bob.key });
    expect(steal.status).toBe(404);
    expect(steal.json.error.code).toBe("not_found");
    expect((await call("GET", "/v1/account", { key: alice.key })).status).toBe(200);
  });
});
