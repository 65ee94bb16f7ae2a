import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { createPhone, linkedSession } from "../helpers/sessions";

// A `delay_between: 0` burst yields between sends: the session object (and, under `wrangler
// dev`, the whole runtime, one thread) answers other calls while the burst is going out.

async function sentCount(campaignId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE campaign_id = ? AND status = 'sent'").bind(campaignId).first<{ n: number }>();
  return row!.n;
}

/** Calls into the object until `done` holds for what `read` sees there (each call is one RPC). */
async function pollInside<T>(stub: DurableObjectStub, read: (o: any) => T, done: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await runInDurableObject(stub, (instance) => read(instance));
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not seen in time: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20)); // leave the object to its work between looks
  }
}

describe("burst sends", () => {
  it("answers a call to the session object, and a sandbox fault request, in the middle of a delay_between: 0 burst", async () => {
    const account = await createAccount({ plan: "pro", balance: 100_000 });
    const { session } = await linkedSession(account.key);
    const recipients: string[] = [];
    for (let i = 0; i < 60; i += 20) {
      const chunk = await Promise.all(Array.from({ length: 20 }, () => createPhone(account.key, { receipt_policy: { delivered: "manual", read: "manual" } })));
      recipients.push(...chunk.map((p) => p.phone_number));
    }
    const res = await call("POST", "/v1/whatsapp/messages", {
      key: account.key,
      body: { whatsapp_session_id: session.id, to_number: recipients, type: "text", content: "burst", delay_between: 0 },
    });
    expect(res.status, res.text).toBe(201);
    const campaignId = res.json.data.campaign_id;

    // A call to the object is answered inside a burst run, between two of its sends: the run
    // is sending, has sent some and still holds more. Before the fix, a run held the object (and, under `wrangler dev`, the
    // runtime) until its whole burst was out. Read from the object's own state, not timed.
    const stub = env.SESSION.get(env.SESSION.idFromName(session.id));
    const midRun = await pollInside(stub, (o) => {
      const held = o.outbox.size();
      const done = o.ctx.storage.sql.exec("SELECT count(*) AS n FROM outbox WHERE state = 'done'").one().n as number;
      return { inRun: o.drain.sending as boolean, held, done };
    }, (v) => v.inRun && v.held > 0 && v.done > 0);
    expect(midRun.held).toBeGreaterThan(0);

    // The sandbox (the same runtime, under `wrangler dev`) answers a fault request meanwhile.
    const fault = await call("POST", `/v1/sandbox/sessions/${session.id}/faults`, { key: account.key, body: { kind: "delay_acks", ms: 0 } });
    expect(fault.status, fault.text).toBe(200);
    await expect.poll(() => sentCount(campaignId), { timeout: 120_000, interval: 250 }).toBe(recipients.length);
  }, 180_000);
});
