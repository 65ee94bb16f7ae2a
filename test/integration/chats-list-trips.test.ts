import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { assertDeclared, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession } from "../helpers/messages";
import { TripLog, countedD1, countedNamespace } from "../helpers/trips";

// The chat lists read D1 only: the session check and the list go in one batch (one trip after
// auth), and no Durable Object is called.

const log = new TripLog();
const countedEnv = { ...env, DB: countedD1(log, env.DB), SESSION: countedNamespace(log, env.SESSION, "session") } as Env;
let account: TestAccount;
let session: { id: string; phone_number: string };

beforeAll(async () => {
  account = await createAccount({ balance: 10_000, message_cost: 10, plan: "pro" });
  session = await connectedSession(account.key);
}, 60_000);

async function counted(path: string) {
  log.reset();
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`http://gateway.test${path}`, { headers: { Authorization: `Bearer ${account.key}` } }) as any, countedEnv, ctx);
  const json = await response.json();
  await waitOnExecutionContext(ctx);
  assertDeclared("GET", path, response.status, json);
  return { status: response.status, trips: [...log.trips] };
}

describe("chat lists cost one D1 trip", () => {
  for (const [name, path] of [
    ["the chats", () => `/v1/whatsapp/sessions/${session.id}/chats`],
    ["a chat's messages", () => `/v1/whatsapp/sessions/${session.id}/chats/14155552671/messages`],
  ] as const) {
    it(`${name}: one batch reading messages, no object call`, async () => {
      await counted(path()); // warms the key cache
      const { status, trips } = await counted(path());
      expect(status).toBe(200);
      expect(trips.filter((t) => t.what.startsWith("session"))).toEqual([]);
      // Besides the key's last-use touch (api_keys, in waitUntil): the one batch.
      const d1 = trips.filter((t) => t.what.startsWith("d1") && !t.sql?.includes("api_keys"));
      expect(d1.map((t) => t.what)).toEqual(["d1.batch(2)"]);
    });
  }
});
