import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forgetArmed } from "../../src/platform/recovery-arm";
import { call, createAccount, type TestAccount } from "../../test/helpers/api";
import { connectedSession, numbers } from "../../test/helpers/messages";
import { inside, journalSize } from "../../test/helpers/session-inside";
import { createPhone, linkedSession } from "../../test/helpers/sessions";
import { countedEnv, countedRequest } from "../../test/helpers/counted-worker";
import { TripLog, type Trip } from "../../test/helpers/trips";
import { newEndpoint } from "../../test/helpers/webhook-receiver";
import { countedFromD1 } from "../../test/helpers/d1-count";

// The bench's instrumented run (`npm run bench:trips`, bench/trips.mjs): round trips per route on
// the real bindings, and D1 trips per message inside the session object while it sends. A
// measurement: it asserts only that figures were produced. Each part prints one
// `TRIPS_JSON <json>` line (workerd cannot write files); the node side collects them.

const emit = (part: string, figures: unknown) => console.log(`TRIPS_JSON ${JSON.stringify({ part, figures })}`);

/** Trips by kind: D1 calls, object calls (stub fetch or RPC), queue sends. */
function tally(trips: Trip[]) {
  const kind = (t: Trip) => t.what.split(".")[0];
  return {
    total: trips.length,
    d1: trips.filter((t) => kind(t) === "d1").length,
    object_calls: trips.filter((t) => ["session", "sandbox", "recovery"].includes(kind(t))).length,
    queue_sends: trips.filter((t) => kind(t).endsWith("_queue")).length,
  };
}

/** How often each statement ran, most frequent first (to tell what a count is made of). */
function statements(trips: Trip[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of trips) {
    const name = t.sql ? `${t.what.split(" ")[0]} ${t.sql.replace(/\s+/g, " ").trim().slice(0, 90)}` : t.what;
    out[name] = (out[name] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

// As the timed bench's burst (bench/run.mjs BENCH_BURST_N): a flush and a reconcile are per
// burst, not per message, so a much smaller burst would overstate them.
const BURST = 200;

describe("round trips (bench, not a test)", () => {
  it(`D1 trips per message sent inside the session object: ${BURST} new numbers, then the same ${BURST} again`, async () => {
    const account = await createAccount({ plan: "pro", balance: 100_000 });
    const { session } = await linkedSession(account.key);
    // A webhook on the statuses, as a real account has: its deliveries are part of the cost.
    const hook = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: newEndpoint().url, events: ["message.sent", "message.delivered"] } });
    expect(hook.status, hook.text).toBe(201);
    const to: string[] = [];
    for (let i = 0; i < BURST; i += 10) to.push(...(await Promise.all(Array.from({ length: 10 }, () => createPhone(account.key)))).map((p) => p.phone_number));

    const statusCounts = async (campaignId: string) => {
      const { results } = await env.DB.prepare("SELECT status, count(*) AS n FROM messages WHERE campaign_id = ? GROUP BY status").bind(campaignId).all<{ status: string; n: number }>();
      return Object.fromEntries(results.map((r) => [r.status, r.n])) as Record<string, number>;
    };
    const final = (c: Record<string, number>) => (c.delivered ?? 0) + (c.read ?? 0) + (c.failed ?? 0);

    const burst = async (label: string) => {
      const log = new TripLog();
      const origins: Record<string, number> = {};
      // Every D1 call but the API's, the queue consumers', the sandbox's, the recovery sweep's and
      // this file's own reads (the binding is shared).
      await inside(session.id, (o) => {
        o.realDb = o.env.DB;
        o.env.DB = countedFromD1(log, o.env.DB, /\/src\/(api|queues|sandbox|recovery)\/|\/bench\/trips\/[^/]+\.trips\.ts/, origins);
      });
      const started = Date.now();
      let campaignId = "";
      let done = false;
      try {
        const res = await call("POST", "/v1/whatsapp/messages", { key: account.key, body: { whatsapp_session_id: session.id, to_number: to, type: "text", content: `trips ${label}`, delay_between: 0 } });
        expect(res.status, res.text).toBe(201);
        campaignId = res.json.data.campaign_id;
        done = (await until(async () => final(await statusCounts(campaignId)) === to.length, 180_000)) && (await until(async () => (await journalSize(session.id)) === 0, 30_000));
      } finally {
        await inside(session.id, (o) => (o.env.DB = o.realDb));
      }
      const closed = log.trips.length;
      return {
        // Trips into this log after its window: something kept the counted binding (cached).
        late: () => log.trips.length - closed,
        burst: label,
        messages: to.length,
        complete: done,
        statuses: await statusCounts(campaignId),
        elapsed_ms: Date.now() - started,
        d1_trips: log.trips.length,
        d1_per_message: log.trips.length / to.length,
        sequential: log.sequential(),
        statements: statements(log.trips),
        origins,
      };
    };
    const bursts = [await burst(`${BURST} new numbers`), await burst(`${BURST} known numbers`)];
    const figures = bursts.map(({ late, ...f }) => ({ ...f, trips_after_window: late() }));
    emit("object", figures);
    expect(figures.every((f) => Number.isFinite(f.d1_per_message))).toBe(true);
  }, 600_000);

  it("round trips per route on the real bindings", async () => {
    const log = new TripLog();
    const counting = countedEnv(log, env);
    const account: TestAccount = await createAccount({ balance: 1_000_000, message_cost: 10, plan: "pro" });
    const session = await connectedSession(account.key);

    // One request through the Worker's fetch with the counted env; its waitUntil work included.
    const counted = async (method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}) => {
      const { status, json, ordered } = await countedRequest(log, counting, method, path, key, body, headers);
      return { status, json, sequential: log.sequential(), ...tally(log.trips), trips: ordered.map((t) => t.what.split(/[ (]/)[0]), statements: statements(ordered) };
    };
    const text = (to: string[]) => ({ whatsapp_session_id: session.id, to_number: to, type: "text", content: "Your code is 123456" });
    const figures: Record<string, unknown>[] = [];
    const measure = async (route: string, target: string, method: string, path: string, key: string, body?: unknown, headers?: Record<string, string>) => {
      const r = await counted(method, path, key, body, headers);
      const { json, ...rest } = r;
      figures.push({ route, target, ...rest });
      return json;
    };

    // Cold: a key never seen by this isolate, the recovery alarm time unknown.
    const fresh = await call("POST", "/v1/keys", { key: account.key, body: { name: "trips-cold" } });
    expect(fresh.status, fresh.text).toBe(201);
    forgetArmed();
    await measure("POST /v1/whatsapp/messages (cold: key and session not cached)", "–", "POST", "/v1/whatsapp/messages", fresh.json.api_key.key, text(numbers(1, 10)));
    await counted("POST", "/v1/whatsapp/messages", account.key, text(numbers(1, 11)));
    const sent = await measure("POST /v1/whatsapp/messages (1 recipient, warm)", "≤ 2", "POST", "/v1/whatsapp/messages", account.key, text(numbers(1, 12)));
    await measure("POST /v1/whatsapp/messages (warm, Idempotency-Key)", "≤ 2", "POST", "/v1/whatsapp/messages", account.key, text(numbers(1, 13)), { "Idempotency-Key": `trips-${crypto.randomUUID()}` });
    await measure("POST /v1/whatsapp/messages/batch (3 items)", "≤ 2", "POST", "/v1/whatsapp/messages/batch", account.key, { messages: numbers(3, 20).map((n) => text([n])) });
    await measure("POST /v1/whatsapp/messages (200 recipients)", "≤ 2", "POST", "/v1/whatsapp/messages", account.key, text(numbers(200, 100)));
    const id = sent?.data?.messages?.[0]?.id;
    await measure("GET /v1/whatsapp/messages/{id}", "≤ 2", "GET", `/v1/whatsapp/messages/${id}`, account.key);
    await measure("GET /v1/whatsapp/messages (list)", "≤ 2", "GET", "/v1/whatsapp/messages?limit=50", account.key);
    await measure("GET /v1/whatsapp/sessions/{id}", "≤ 2", "GET", `/v1/whatsapp/sessions/${session.id}`, account.key);
    await measure("GET /v1/whatsapp/sessions/{id}/chats", "≤ 2", "GET", `/v1/whatsapp/sessions/${session.id}/chats`, account.key);
    emit("routes", figures);
    expect(figures.length).toBe(9);
  }, 300_000);
});
