// The reservation of an Idempotency-Key belongs to the request that made it (issue 9 review):
// once it went stale and a newer request took the key over, the first request's answer or
// failure must not land in, or delete, the newer request's row. Driven through the module
// against the real D1, since a route cannot be held open past the stale threshold.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { database } from "../../src/db/client";
import { IN_PROGRESS_STALE_MS, runIdempotent, type IdempotencyContext } from "../../src/api/idempotency";
import { createAccount } from "../helpers/api";

const db = () => database(env);
const ctx = (key: string, requestHash: string): IdempotencyContext => ({ key, method: "POST", path: "/v1/things", requestHash });

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const row = (accountId: string, key: string) =>
  env.DB.prepare("SELECT request_hash, status_code, response, created_at FROM idempotency_keys WHERE account_id = ? AND key = ?")
    .bind(accountId, key)
    .first<{ request_hash: string; status_code: number; response: string; created_at: string }>();

/** Makes the current reservation older than the stale threshold, as if its request hung. */
const age = (accountId: string, key: string) =>
  env.DB.prepare("UPDATE idempotency_keys SET created_at = ? WHERE account_id = ? AND key = ?")
    .bind(new Date(Date.now() - IN_PROGRESS_STALE_MS - 1_000).toISOString(), accountId, key)
    .run();

/** Request A reserves the key and hangs; its reservation goes stale; B takes the key over and hangs too. */
async function takeover(key: string, outcomeA: "answer" | "fail") {
  const account = await createAccount();
  const gateA = gate();
  const gateB = gate();
  const a = runIdempotent(db(), account.id, ctx(key, "hash-a"), async () => {
    await gateA.opened;
    if (outcomeA === "fail") throw new Error("A failed");
    return Response.json({ who: "A" }, { status: 201 });
  }).catch((error: Error) => error);
  await vi.waitFor(async () => expect((await row(account.id, key))?.request_hash).toBe("hash-a"));
  await age(account.id, key);
  const b = runIdempotent(db(), account.id, ctx(key, "hash-b"), async () => {
    await gateB.opened;
    return Response.json({ who: "B" }, { status: 201 });
  });
  await vi.waitFor(async () => expect((await row(account.id, key))?.request_hash).toBe("hash-b"));
  return { account, a, b, gateA, gateB };
}

describe("Idempotency-Key reservations", () => {
  it("a stale request that finishes after a takeover keeps its own answer and leaves the newer row alone", async () => {
    const { account, a, b, gateA, gateB } = await takeover("stale-answer", "answer");
    gateA.open();
    const answerA = (await a) as Response;
    expect(answerA.status).toBe(201);
    expect(await answerA.json()).toEqual({ who: "A" });
    // B still holds its reservation: A's answer did not land in it.
    expect(await row(account.id, "stale-answer")).toMatchObject({ request_hash: "hash-b", status_code: 0 });
    gateB.open();
    expect(await (await b).json()).toEqual({ who: "B" });
    expect(await row(account.id, "stale-answer")).toMatchObject({ request_hash: "hash-b", status_code: 201, response: JSON.stringify({ who: "B" }) });
  });

  it("a stale request that fails after a takeover does not release the newer reservation", async () => {
    const { account, a, b, gateA, gateB } = await takeover("stale-failure", "fail");
    gateA.open();
    expect(await a).toBeInstanceOf(Error);
    expect(await row(account.id, "stale-failure")).toMatchObject({ request_hash: "hash-b", status_code: 0 });
    gateB.open();
    await b;
    expect(await row(account.id, "stale-failure")).toMatchObject({ request_hash: "hash-b", status_code: 201 });
  });

  it("a failing handler releases its own reservation, so the request can be retried as it is", async () => {
    const account = await createAccount();
    await expect(runIdempotent(db(), account.id, ctx("fails", "h"), () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await row(account.id, "fails")).toBeNull();
    const retried = await runIdempotent(db(), account.id, ctx("fails", "h"), async () => Response.json({ ok: 1 }, { status: 201 }));
    expect(retried.status).toBe(201);
    expect(await row(account.id, "fails")).toMatchObject({ status_code: 201 });
  });

  it("an answer that cannot be stored is still returned to the client", async () => {
    const account = await createAccount();
    const response = await runIdempotent(
      db(),
      account.id,
      ctx("unstorable", "h"),
      async () => Response.json({ id: "created" }, { status: 201 }),
      () => {
        throw new Error("redact failed");
      },
    );
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ id: "created" });
  });

  it("a reservation younger than the threshold blocks a twin with 409", async () => {
    const account = await createAccount();
    const held = gate();
    const first = runIdempotent(db(), account.id, ctx("young", "h"), async () => {
      await held.opened;
      return Response.json({ n: 1 }, { status: 201 });
    });
    await vi.waitFor(async () => expect((await row(account.id, "young"))?.status_code).toBe(0));
    await expect(runIdempotent(db(), account.id, ctx("young", "h"), async () => Response.json({ n: 2 }, { status: 201 }))).rejects.toMatchObject({
      status: 409,
      code: "idempotency_key_in_progress",
    });
    held.open();
    expect(await (await first).json()).toEqual({ n: 1 });
  });

  it("the stale threshold is well above the longest handler (a session create waits ~15 s for its QR)", () => {
    expect(IN_PROGRESS_STALE_MS).toBeGreaterThanOrEqual(120_000);
  });
});
