import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";

describe("API conventions", () => {
  it("answers malformed JSON with 400 in the error envelope", async () => {
    const account = await createAccount();
    const res = await call("POST", "/v1/keys", {
      key: account.key,
      rawBody: "{not json",
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      success: false,
      error: { code: "invalid_json", message: expect.any(String), details: [] },
    });
  });

  it("answers unknown routes with a JSON 404", async () => {
    const res = await call("GET", "/v1/nothing-here");
    expect(res.status).toBe(404);
    expect(res.headers.get("Content-Type")).toContain("application/json");
    expect(res.json.error.code).toBe("not_found");
  });

  it("answers a known path with the wrong method with 405 and Allow", async () => {
    const res = await call("PUT", "/v1/keys");
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toBe("POST, GET");
    expect(res.json.error.code).toBe("method_not_allowed");
  });

  it("uses UUIDs and six-digit fractional timestamps", async () => {
    const account = await createAccount();
    const res = await call("GET", "/v1/account", { key: account.key });
    expect(res.json.account.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(res.json.account.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  });

  it("reports plan, balance, cost, usage and limits on /v1/account", async () => {
    const account = await createAccount({ plan: "free", balance: 5000, message_cost: 10 });
    const res = await call("GET", "/v1/account", { key: account.key });
    expect(res.json).toMatchObject({
      success: true,
      account: {
        plan: "free",
        balance: 5000,
        message_cost: 10,
        remaining_messages: 500,
        usage: { messages: 0, sessions: 0 },
        limits: { max_sessions: 10, daily_messages: 100 },
      },
    });
    const pro = await createAccount({ plan: "pro" });
    const proRes = await call("GET", "/v1/account", { key: pro.key });
    expect(proRes.json.account.limits).toEqual({ max_sessions: null, daily_messages: 10000 });
  });
});

describe("OpenAPI", () => {
  it("serves an OpenAPI 3.1 document generated from the route schemas", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe("3.1.0");
    expect(Object.keys(res.json.paths)).toEqual(
      expect.arrayContaining(["/v1/account", "/v1/keys", "/v1/keys/{id}", "/v1/admin/accounts"]),
    );
    const createAccountBody = res.json.paths["/v1/admin/accounts"].post.requestBody.content["application/json"].schema;
    expect(createAccountBody.required).toContain("name");
    expect(createAccountBody.properties.plan.enum).toEqual(["free", "pro"]);
    expect(res.json.components.securitySchemes.bearerAuth.scheme).toBe("bearer");
  });

  it("serves a docs page that loads the document", async () => {
    const res = await call("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    expect(res.text).toContain('data-url="/openapi.json"');
  });
});
