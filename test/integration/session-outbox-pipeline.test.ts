import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { send } from "../helpers/messages";
import { inside } from "../helpers/session-inside";
import { createPhone, fault, linkedSession } from "../helpers/sessions";

// The pipelined outbox (outbox-drain.ts sendBurst) against the sandbox: several sends in flight
// at once, yet never two to one chat, each chat's messages in order, a paced message alone, one
// pass at a time, and a socket lost mid-burst loses and duplicates nothing. The session's own
// sender is wrapped only to watch the order of its calls (each still runs as it is).

interface Watch {
  max: number;
  /** Breaches seen when a send started, as text (empty when none). */
  breaches: string[];
  started: number;
}

/** Wraps the object's sender.send and drain.runOnce to record what overlaps what. */
function watchSends(sessionId: string): Promise<void> {
  return inside(sessionId, (o) => {
    const watch: Watch = { max: 0, breaches: [], started: 0 };
    const active = new Map<string, { to: string; paced: boolean }>();
    const send = o.sender.send.bind(o.sender);
    o.sender.send = async (socket: unknown, config: unknown, entry: any) => {
      const me = { to: entry.item.to as string, paced: entry.item.delayBetweenMs > 0 };
      for (const [id, other] of active) {
        if (other.to === me.to) watch.breaches.push(`two in flight to ${me.to}: ${id}, ${entry.item.messageId}`);
        if (other.paced || me.paced) watch.breaches.push(`a paced send beside another: ${id}, ${entry.item.messageId}`);
      }
      active.set(entry.item.messageId, me);
      watch.started++;
      watch.max = Math.max(watch.max, active.size);
      try {
        return await send(socket, config, entry);
      } finally {
        active.delete(entry.item.messageId);
      }
    };
    let passes = 0;
    const runOnce = o.drain.runOnce.bind(o.drain);
    o.drain.runOnce = async () => {
      if (++passes > 1) watch.breaches.push("two drain passes at once");
      try {
        return await runOnce();
      } finally {
        passes--;
      }
    };
    o.__watch = watch;
  });
}

const watched = (sessionId: string) => inside(sessionId, (o) => ({ ...(o.__watch as Watch) }));

async function inboxTexts(key: string, phone: string): Promise<string[]> {
  const res = await call("GET", `/v1/sandbox/phones/${phone}/inbox`, { key });
  expect(res.status, res.text).toBe(200);
  return res.json.messages.filter((m: any) => m.direction === "in").map((m: any) => m.text);
}

async function statuses(sessionId: string): Promise<{ status: string; provider_message_id: string | null }[]> {
  const rows = await env.DB.prepare("SELECT status, provider_message_id FROM messages WHERE whatsapp_session_id = ?").bind(sessionId).all();
  return rows.results as any[];
}

async function phones(key: string, n: number): Promise<string[]> {
  const list = await Promise.all(Array.from({ length: n }, () => createPhone(key, { receipt_policy: { delivered: "manual", read: "manual" } })));
  return list.map((p) => p.phone_number);
}

describe("pipelined outbox", () => {
  it("sends to several chats at once but keeps each chat's order, one pass at a time", async () => {
    const account = await createAccount({ plan: "pro", balance: 100_000 });
    const { session } = await linkedSession(account.key);
    const to = await phones(account.key, 4);
    await watchSends(session.id);
    // Held acks keep sends in flight while the next requests add to the same chats.
    await fault(account.key, session.id, { kind: "delay_acks", ms: 150 });
    const texts = ["m1", "m2", "m3", "m4", "m5"];
    for (const content of texts) {
      const res = await send(account.key, { whatsapp_session_id: session.id, to_number: to, type: "text", content, delay_between: 0 });
      expect(res.status, res.text).toBe(201);
    }
    await expect.poll(async () => (await statuses(session.id)).filter((r) => r.status === "sent").length, { timeout: 60_000, interval: 100 }).toBe(20);
    for (const phone of to) expect(await inboxTexts(account.key, phone)).toEqual(texts);
    const watch = await watched(session.id);
    expect(watch.breaches).toEqual([]);
    expect(watch.started).toBe(20);
    expect(watch.max).toBeGreaterThan(1);
  }, 120_000);

  it("sends a paced message alone: nothing goes beside it, before or after", async () => {
    const account = await createAccount({ plan: "pro", balance: 100_000 });
    const { session } = await linkedSession(account.key);
    const paced = await phones(account.key, 3);
    const unpaced = await phones(account.key, 6);
    await watchSends(session.id);
    await fault(account.key, session.id, { kind: "delay_acks", ms: 100 });
    // Unpaced before and after the paced campaign: the paced ones wait for the first to settle,
    // and the last ones for the paced ones' pause.
    const first = await send(account.key, { whatsapp_session_id: session.id, to_number: unpaced.slice(0, 3), type: "text", content: "before", delay_between: 0 });
    const middle = await send(account.key, { whatsapp_session_id: session.id, to_number: paced, type: "text", content: "paced", delay_between: 200 });
    const last = await send(account.key, { whatsapp_session_id: session.id, to_number: unpaced.slice(3), type: "text", content: "after", delay_between: 0 });
    for (const res of [first, middle, last]) expect(res.status, res.text).toBe(201);
    await expect.poll(async () => (await statuses(session.id)).filter((r) => r.status === "sent").length, { timeout: 60_000, interval: 100 }).toBe(9);
    const watch = await watched(session.id);
    expect(watch.breaches).toEqual([]);
    expect(watch.started).toBe(9);
  }, 120_000);

  it("resolves new numbers ahead for a burst, LID-addressed contacts among them", async () => {
    const account = await createAccount({ plan: "pro", balance: 100_000 });
    const { session } = await linkedSession(account.key);
    const byLid = await Promise.all(Array.from({ length: 3 }, () => createPhone(account.key, { lid_addressed: true, receipt_policy: { delivered: "manual", read: "manual" } })));
    const to = [...byLid.map((p) => p.phone_number), ...(await phones(account.key, 3))];
    await inside(session.id, (o) => {
      const prefetch = o.sender.numbers.prefetch.bind(o.sender.numbers);
      o.__prefetched = [];
      o.sender.numbers.prefetch = (socket: unknown, list: string[]) => (o.__prefetched.push(list), prefetch(socket, list));
    });
    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: to, type: "text", content: "hello", delay_between: 0 });
    expect(res.status, res.text).toBe(201);
    await expect.poll(async () => (await statuses(session.id)).map((r) => r.status).join(), { timeout: 60_000, interval: 100 }).toBe("sent,sent,sent,sent,sent,sent");
    for (const phone of to) expect(await inboxTexts(account.key, phone)).toEqual(["hello"]);
    // All six were looked up together ahead of their sends, and are known on WhatsApp since.
    expect((await inside(session.id, (o) => o.__prefetched as string[][])).map((l) => [...l].sort())).toEqual([[...to].sort()]);
    const known = await inside(session.id, (o) => o.ctx.storage.sql.exec("SELECT count(*) AS n FROM contacts WHERE on_whatsapp = 1").one().n as number);
    expect(known).toBe(6);
  }, 120_000);

  it("ends every message once when the session is deleted with a burst in flight: sent, or failed and refunded", async () => {
    const account = await createAccount({ plan: "pro", balance: 1000, message_cost: 10 });
    const { session } = await linkedSession(account.key);
    const to = await phones(account.key, 8);
    await fault(account.key, session.id, { kind: "delay_acks", ms: 10_000 });
    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: to, type: "text", content: "bye", delay_between: 0 });
    expect(res.status, res.text).toBe(201);
    await expect
      .poll(() => inside(session.id, (o) => o.ctx.storage.sql.exec("SELECT count(*) AS n FROM outbox WHERE state = 'sending'").one().n as number), { timeout: 30_000, interval: 50 })
      .toBe(8);
    const deleted = await call("DELETE", `/v1/whatsapp/sessions/${session.id}`, { key: account.key });
    expect(deleted.status, deleted.text).toBe(200);
    const rows = await statuses(session.id);
    expect(rows).toHaveLength(8);
    expect(rows.every((r) => r.status === "sent" || r.status === "failed")).toBe(true);
    const sent = rows.filter((r) => r.status === "sent").length;
    expect((await call("GET", "/v1/account", { key: account.key })).json.account.balance).toBe(1000 - 10 * sent);
  }, 120_000);

  it("requeues the sends in flight when the socket drops mid-burst: each lands once, with one id", async () => {
    const account = await createAccount({ plan: "pro", balance: 100_000 });
    const { session } = await linkedSession(account.key);
    const to = await phones(account.key, 8);
    // Acks held long enough that the drop finds the whole burst in flight.
    await fault(account.key, session.id, { kind: "delay_acks", ms: 10_000 });
    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: to, type: "text", content: "once", delay_between: 0 });
    expect(res.status, res.text).toBe(201);
    await expect
      .poll(() => inside(session.id, (o) => o.ctx.storage.sql.exec("SELECT count(*) AS n FROM outbox WHERE state = 'sending'").one().n as number), { timeout: 30_000, interval: 50 })
      .toBe(8);
    await expect.poll(async () => (await Promise.all(to.map((p) => inboxTexts(account.key, p)))).every((t) => t.length === 1), { timeout: 30_000, interval: 100 }).toBe(true);
    await fault(account.key, session.id, { kind: "drop" });
    await fault(account.key, session.id, { kind: "normal_acks" });
    await expect.poll(async () => (await statuses(session.id)).filter((r) => r.status === "sent").length, { timeout: 90_000, interval: 250 }).toBe(8);
    const rows = await statuses(session.id);
    expect(new Set(rows.map((r) => r.provider_message_id)).size).toBe(8);
    // Resent with the same id after the drop: the contact holds one message, not two.
    for (const phone of to) expect(await inboxTexts(account.key, phone)).toEqual(["once"]);
  }, 150_000);
});
