import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { assertDeclared, call, createAccount, type TestAccount } from "../helpers/api";
import { balanceOf, connectedSession, numbers, storedCounts } from "../helpers/messages";
import { forgetArmed } from "../../src/platform/recovery-arm";
import { countedEnv, countedRequest } from "../helpers/counted-worker";
import { TripLog } from "../helpers/trips";

// Sequential round trips (D1 calls, object calls and queue sends that did not overlap) of the
// accept path, counted on the real bindings: a warm send is accepted in at most two (the
// accept batch, the hand-off to the session object), and the key and session it trusts from
// the isolate's cache are re-checked inside that batch, so a revoked key or a deleted session
// stores and debits nothing; an answer given without the batch checks the key in D1 first.

const log = new TripLog();
const counting = countedEnv(log, env);

let account: TestAccount;
let session: { id: string; session_id: string; phone_number: string };

async function counted(method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}) {
  const { status, headers: responseHeaders, json, ordered } = await countedRequest(log, counting, method, path, key, body, headers);
  const kinds = ordered.map((t) => t.what.split(/[ (]/)[0]);
  const result = { status, headers: responseHeaders, json, sequential: log.sequential(), trips: log.describe(), kinds, ordered };
  assertDeclared(method, path, status, json);
  return result;
}

// The recovery arm runs alongside the hand-off, and only when this isolate's cached alarm time is
// near (other work in the run may have brought the alarm close): it never adds a sequential trip,
// which `sequential` checks, so the lists below leave it out.
const besidesArm = (kinds: string[]) => kinds.filter((k) => k !== "recovery.arm");

const text = (to: string) => ({ whatsapp_session_id: session.id, to_number: [to], type: "text", content: "Your code is 123456" });

async function secondKey(of: TestAccount = account): Promise<{ key: string; id: string }> {
  const res = await call("POST", "/v1/keys", { key: of.key, body: { name: `trips-${crypto.randomUUID().slice(0, 6)}` } });
  expect(res.status, res.text).toBe(201);
  return { key: res.json.api_key.key, id: res.json.api_key.id };
}

const revokeInD1 = (keyId: string) => env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(new Date().toISOString(), keyId).run();

async function idempotencyRows(accountId: string, key: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM idempotency_keys WHERE account_id = ? AND key = ?").bind(accountId, key).first<{ n: number }>();
  return row!.n;
}

beforeAll(async () => {
  account = await createAccount({ balance: 100_000, message_cost: 10, plan: "pro" });
  session = await connectedSession(account.key);
}, 60_000);

describe("round trips of the accept path", () => {
  it("accepts a cold send in at most 4 (key, session, batch, hand-off; recovery armed alongside), a warm one in 2", async () => {
    // Cold: a key never used in this isolate, a session not yet cached, the alarm time unknown.
    const fresh = await secondKey();
    forgetArmed();
    const cold = await counted("POST", "/v1/whatsapp/messages", fresh.key, text(numbers(1, 10)[0]));
    expect(cold.status, JSON.stringify(cold.json)).toBe(201);
    expect(cold.sequential, cold.trips).toBeLessThanOrEqual(4);
    expect(cold.kinds.filter((k) => k !== "d1.run"), cold.trips).toEqual(["d1.raw", "d1.raw", "d1.batch", "session.enqueue", "recovery.arm"]);
    // The d1.run is the key's last-use touch, in waitUntil.
    const reads = cold.ordered.filter((t) => t.what.startsWith("d1.raw"));
    expect(reads[0].sql, cold.trips).toMatch(/from "api_keys"/);
    expect(reads[1].sql, cold.trips).toMatch(/from "sessions"/);

    const warm = await counted("POST", "/v1/whatsapp/messages", account.key, text(numbers(1, 11)[0]));
    expect(warm.status, JSON.stringify(warm.json)).toBe(201);
    expect(warm.sequential, warm.trips).toBeLessThanOrEqual(2);
    // The key and session came from the isolate; the batch re-checked them.
    expect(besidesArm(warm.kinds), warm.trips).toEqual(["d1.batch", "session.enqueue"]);
  });

  it("with an Idempotency-Key too, and a repeat is answered from the stored answer", async () => {
    const body = text(numbers(1, 12)[0]);
    const key = { "Idempotency-Key": `trips-${crypto.randomUUID()}` };
    const first = await counted("POST", "/v1/whatsapp/messages", account.key, body, key);
    expect(first.status, JSON.stringify(first.json)).toBe(201);
    expect(first.sequential, first.trips).toBeLessThanOrEqual(2);
    // The stored-answer read runs alongside the batch, not before it.
    expect(besidesArm(first.kinds), first.trips).toEqual(["d1.raw", "d1.batch", "session.enqueue"]);
    expect(first.ordered[0].sql, first.trips).toMatch(/from "idempotency_keys"/);

    const stored = await storedCounts(account.id);
    const balance = await balanceOf(account.key);
    const repeat = await counted("POST", "/v1/whatsapp/messages", account.key, body, key);
    expect(repeat.status).toBe(201);
    expect(repeat.headers.get("Idempotent-Replayed")).toBe("true");
    expect(repeat.json.data.messages[0].id).toBe(first.json.data.messages[0].id);
    // The read and the batch (its claim conflicts, nothing stored), side by side: nothing else.
    expect(repeat.sequential, repeat.trips).toBeLessThanOrEqual(1);
    expect(repeat.kinds, repeat.trips).toEqual(["d1.raw", "d1.batch"]);
    expect(await storedCounts(account.id)).toEqual(stored);
    expect(await balanceOf(account.key)).toBe(balance);
    expect(await idempotencyRows(account.id, key["Idempotency-Key"])).toBe(1);
  });

  it("accepts a batch of 10 in at most 2", async () => {
    await counted("POST", "/v1/whatsapp/messages", account.key, text(numbers(1, 13)[0]));
    const messages = numbers(10, 20).map(text);
    const batch = await counted("POST", "/v1/whatsapp/messages/batch", account.key, { messages });
    expect(batch.status, JSON.stringify(batch.json)).toBe(200);
    expect(batch.json.data).toMatchObject({ accepted: 10, rejected: 0, count: 10 });
    expect(batch.sequential, batch.trips).toBeLessThanOrEqual(2);
    expect(besidesArm(batch.kinds), batch.trips).toEqual(["d1.batch", "session.enqueue"]);
  });

  it("reads a message in at most 2", async () => {
    const sent = await counted("POST", "/v1/whatsapp/messages", account.key, text(numbers(1, 40)[0]));
    const id = sent.json.data.messages[0].id;
    const got = await counted("GET", `/v1/whatsapp/messages/${id}`, account.key);
    expect(got.status).toBe(200);
    expect(got.json.data.id).toBe(id);
    expect(got.sequential, got.trips).toBeLessThanOrEqual(2);
    // Not from the cache: the key is read from D1 first, then the message.
    expect(got.ordered[0].sql, got.trips).toMatch(/from "api_keys"/);
    expect(got.ordered[1].sql, got.trips).toMatch(/from "messages"/);
  });
});

describe("what the cached key and session are re-checked against", () => {
  it("refuses a key revoked elsewhere (its cache entry still here) on its very next send, storing and debiting nothing", async () => {
    const other = await secondKey();
    const warm = await counted("POST", "/v1/whatsapp/messages", other.key, text(numbers(1, 50)[0]));
    expect(warm.status, JSON.stringify(warm.json)).toBe(201);
    // Revoked by another isolate: only D1 knows.
    await revokeInD1(other.id);
    const balance = await balanceOf(account.key);
    const stored = await storedCounts(account.id);

    const refused = await counted("POST", "/v1/whatsapp/messages", other.key, text(numbers(1, 51)[0]));
    expect(refused.status).toBe(401);
    expect(refused.json.error.code).toBe("revoked_api_key");
    expect(await storedCounts(account.id)).toEqual(stored);
    expect(await balanceOf(account.key)).toBe(balance);
  });

  it("other routes never trust the cache: a key revoked elsewhere gets 401 there before any send drops the entry", async () => {
    const other = await secondKey();
    expect((await counted("POST", "/v1/whatsapp/messages", other.key, text(numbers(1, 54)[0]))).status).toBe(201);
    await revokeInD1(other.id);
    const read = await counted("GET", "/v1/account", other.key);
    expect(read.status).toBe(401);
    expect(read.json.error.code).toBe("revoked_api_key");
  });

  it("a key revoked elsewhere (still cached here) learns nothing before the batch: 401, not 404 or a stored answer", async () => {
    // Each case with its own key: a 401 drops the cache entry, and the point is the cached one.
    const idem = { "Idempotency-Key": `trips-${crypto.randomUUID()}` };
    const body = text(numbers(1, 55)[0]);
    const first = await secondKey();
    expect((await counted("POST", "/v1/whatsapp/messages", first.key, body, idem)).status).toBe(201);
    const second = await secondKey();
    expect((await counted("POST", "/v1/whatsapp/messages", second.key, text(numbers(1, 56)[0]))).status).toBe(201);
    await revokeInD1(first.id);
    await revokeInD1(second.id);
    const stored = await storedCounts(account.id);

    const repeat = await counted("POST", "/v1/whatsapp/messages", first.key, body, idem);
    expect(repeat.status, JSON.stringify(repeat.json)).toBe(401);
    expect(repeat.json.error.code).toBe("revoked_api_key");
    const missing = await counted("POST", "/v1/whatsapp/messages", second.key, { ...body, whatsapp_session_id: crypto.randomUUID() });
    expect(missing.status, JSON.stringify(missing.json)).toBe(401);
    expect(missing.json.error.code).toBe("revoked_api_key");
    expect(await storedCounts(account.id)).toEqual(stored);
  });

  it("refuses a key revoked through the API in this isolate at once", async () => {
    const other = await secondKey();
    expect((await counted("POST", "/v1/whatsapp/messages", other.key, text(numbers(1, 52)[0]))).status).toBe(201);
    const revoked = await call("DELETE", `/v1/keys/${other.id}`, { key: account.key });
    expect(revoked.status, revoked.text).toBe(200);
    const refused = await counted("POST", "/v1/whatsapp/messages", other.key, text(numbers(1, 53)[0]));
    expect(refused.status).toBe(401);
    expect(refused.json.error.code).toBe("revoked_api_key");
  });

  /** A session of its own, sent through once (so cached here), then changed behind the cache. */
  async function changedSession(change: (id: string) => Promise<unknown>, to: number) {
    const own = await connectedSession(account.key);
    const body = { ...text(numbers(1, to)[0]), whatsapp_session_id: own.id };
    expect((await counted("POST", "/v1/whatsapp/messages", account.key, body)).status).toBe(201);
    await change(own.id);
    const before = { balance: await balanceOf(account.key), stored: await storedCounts(account.id) };
    const again = await counted("POST", "/v1/whatsapp/messages", account.key, { ...body, to_number: [numbers(1, to + 1)[0]] });
    return { again, before };
  }

  async function expectNothingStored(before: { balance: number; stored: unknown }) {
    expect(await storedCounts(account.id)).toEqual(before.stored);
    expect(await balanceOf(account.key)).toBe(before.balance);
  }

  it("refuses a send through a session deleted since it was cached: 404, nothing stored or debited", async () => {
    const { again, before } = await changedSession(async (id) => {
      const deleted = await call("DELETE", `/v1/whatsapp/sessions/${id}`, { key: account.key });
      expect(deleted.status, deleted.text).toBeLessThan(300);
    }, 60);
    expect(again.status).toBe(404);
    expect(again.json.error.details[0]).toMatchObject({ field: "whatsapp_session_id", code: "not_found" });
    await expectNothingStored(before);
  });

  it("a cached session disconnected since: 409 as before, nothing stored or debited", async () => {
    const disconnect = (id: string) => env.DB.prepare("UPDATE sessions SET status = 'disconnected' WHERE id = ?").bind(id).run();
    const { again, before } = await changedSession(disconnect, 62);
    expect(again.status, JSON.stringify(again.json)).toBe(409);
    expect(again.json.error.code).toBe("session_not_connected");
    await expectNothingStored(before);
  });

  it("a cached session relinked to another number: sent once, from the new number", async () => {
    const newNumber = numbers(1, 900)[0];
    const relink = (id: string) => env.DB.prepare("UPDATE sessions SET phone_number = ? WHERE id = ?").bind(newNumber, id).run();
    const { again, before } = await changedSession(relink, 64);
    expect(again.status, JSON.stringify(again.json)).toBe(201);
    expect(again.json.data.messages[0].from_number).toBe(newNumber);
    const { stored } = before;
    expect(await storedCounts(account.id)).toEqual({ messages: stored.messages + 1, campaigns: stored.campaigns + 1, usage: stored.usage + 1 });
    expect(await balanceOf(account.key)).toBe(before.balance - 10);
  });

  it("a price and plan changed since the key was cached: charged once, at the new price the rows carry", async () => {
    const other = await createAccount({ balance: 1_000, message_cost: 10, plan: "pro" });
    const otherSession = await connectedSession(other.key);
    const body = (to: string) => ({ whatsapp_session_id: otherSession.id, to_number: [to], type: "text", content: "price" });
    expect((await counted("POST", "/v1/whatsapp/messages", other.key, body(numbers(1, 70)[0]))).status).toBe(201);
    await env.DB.prepare("UPDATE accounts SET message_cost = 25, plan = 'free' WHERE id = ?").bind(other.id).run();
    const balance = await balanceOf(other.key);
    const stored = await storedCounts(other.id);

    const sent = await counted("POST", "/v1/whatsapp/messages", other.key, body(numbers(1, 71)[0]));
    expect(sent.status, JSON.stringify(sent.json)).toBe(201);
    expect(sent.json.data.messages[0].cost).toBe(25);
    expect(sent.json.data.new_balance).toBe(balance - 25);
    expect(await balanceOf(other.key)).toBe(balance - 25);
    expect(await storedCounts(other.id)).toEqual({ messages: stored.messages + 1, campaigns: stored.campaigns + 1, usage: stored.usage + 1 });
    const row = await env.DB.prepare("SELECT cost FROM messages WHERE id = ?").bind(sent.json.data.messages[0].id).first<{ cost: number }>();
    expect(row!.cost).toBe(25);
  });

  it("another account sending through this account's cached session id gets 404, nothing stored", async () => {
    const stranger = await createAccount({ balance: 1_000, message_cost: 10, plan: "pro" });
    // The session is in this isolate's cache (for its own account), the stranger's key is too.
    expect((await counted("POST", "/v1/whatsapp/messages", account.key, text(numbers(1, 80)[0]))).status).toBe(201);
    for (const to of numbers(2, 81)) {
      const refused = await counted("POST", "/v1/whatsapp/messages", stranger.key, text(to));
      expect(refused.status, JSON.stringify(refused.json)).toBe(404);
      expect(refused.json.error.details[0]).toMatchObject({ field: "whatsapp_session_id", code: "not_found" });
    }
    expect(await storedCounts(stranger.id)).toEqual({ messages: 0, campaigns: 0, usage: 0 });
  });
});
