import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { createPhone } from "../helpers/sessions";

// The routes that let a client outside the gateway (e.g. Baileys in a Node process) use the
// sandbox: its trust root, a WebSocket proxied to the account's SandboxObject, and a phone that
// scans the QR that client shows. The whole pairing is exercised by bench/ against `npm run dev`.

const sandboxOf = (accountId: string) => env.SANDBOX_WORLD.get(env.SANDBOX_WORLD.idFromName(accountId));

function upgrade(key: string | undefined, query: string, headers: Record<string, string> = { Upgrade: "websocket" }) {
  return exports.default.fetch(
    new Request(`http://gateway.test/v1/sandbox/ws/chat${query}`, {
      headers: { ...(key ? { Authorization: `Bearer ${key}` } : {}), ...headers },
    }),
  );
}

describe("sandbox external clients", () => {
  it("returns the account sandbox's trust root", async () => {
    const account = await createAccount({ plan: "pro" });
    const res = await call("GET", "/v1/sandbox/trust-root", { key: account.key });
    expect(res.status, res.text).toBe(200);
    const root = Buffer.from(res.json.trust_root, "base64");
    expect(root).toHaveLength(32);
    expect(root.equals(Buffer.from(await sandboxOf(account.id).trustRoot()))).toBe(true);
    // Another account has another sandbox, hence another root.
    const other = await createAccount({ plan: "pro" });
    const otherRoot = (await call("GET", "/v1/sandbox/trust-root", { key: other.key })).json.trust_root;
    expect(otherRoot).not.toBe(res.json.trust_root);
  });

  it("proxies a WebSocket upgrade to the sandbox, and refuses anything else", async () => {
    const account = await createAccount({ plan: "pro" });

    const res = await upgrade(account.key, "?client=ext-1");
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    expect(ws).toBeTruthy();
    ws.accept();
    ws.close(1000, "done");

    const plain = await upgrade(account.key, "?client=ext-1", {});
    expect(plain.status).toBe(426);
    expect((await plain.json<any>()).error.code).toBe("upgrade_required");

    expect((await upgrade(undefined, "?client=ext-1")).status).toBe(401);
    expect((await upgrade(account.key, "")).status).toBe(422);
    expect((await upgrade(account.key, "?client=bad%20label")).status).toBe(422);
  });

  it("scans an external client's QR only when that client shows one", async () => {
    const account = await createAccount({ plan: "pro" });
    const phone = await createPhone(account.key);
    const body = { phone_number: phone.phone_number, qr: "2@ref,noise,identity,adv" };

    const none = await call("POST", "/v1/sandbox/clients/nobody/scan", { key: account.key, body });
    expect(none.status, none.text).toBe(409);
    const unknownPhone = await call("POST", "/v1/sandbox/clients/nobody/scan", {
      key: account.key,
      body: { ...body, phone_number: "15550009999" },
    });
    expect(unknownPhone.status, unknownPhone.text).toBe(404);
    const invalid = await call("POST", "/v1/sandbox/clients/nobody/scan", { key: account.key, body: { phone_number: phone.phone_number } });
    expect(invalid.status).toBe(422);
  });
});
