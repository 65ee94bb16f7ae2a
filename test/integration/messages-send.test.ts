import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { balanceOf, connectedSession, farFuture, numbers, send, storedCounts } from "../helpers/messages";
import { createSandboxSession, linkedSession } from "../helpers/sessions";

let account: TestAccount;
let session: { id: string; session_id: string; phone_number: string };

beforeAll(async () => {
  account = await createAccount({ balance: 5000, message_cost: 10, plan: "pro" });
  session = await connectedSession(account.key);
}, 60_000);

const text = (extra: Record<string, unknown> = {}) => ({
  whatsapp_session_id: session.id,
  to_number: ["+1 (415) 555-2671"],
  type: "text",
  content: "Hello from Our Voice!",
  scheduled_at: farFuture(),
  ...extra,
});

describe("POST /v1/whatsapp/messages", () => {
  it("answers 201 in the send answer's shape, debits, and stores one row per recipient and a campaign", async () => {
    const before = await balanceOf(account.key);
    const stored = await storedCounts(account.id);
    const res = await send(account.key, text({ to_number: ["+14155552671", "0014155552672", "+14155552671"], scheduled_at: undefined }));
    expect(res.status, res.text).toBe(201);
    expect(res.json).toMatchObject({ success: true, message: "Message queued for sending" });
    const data = res.json.data;
    // Duplicates are sent (and charged) once.
    expect(data).toMatchObject({ count: 2, total_cost: 20, new_balance: before - 20, remaining_messages: Math.floor((before - 20) / 10) });
    expect(data.campaign_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(data.messages.map((m: any) => m.to_number)).toEqual(["14155552671", "14155552672"]);
    expect(data.messages[0]).toMatchObject({
      whatsapp_session_id: session.id,
      campaign_id: data.campaign_id,
      from_number: session.phone_number,
      type: "text",
      content: "Hello from Our Voice!",
      media_url: null,
      status: "queued",
      direction: "outgoing",
      cost: 10,
      sent_at: null,
      delivered_at: null,
      read_at: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
    });
    expect(await balanceOf(account.key)).toBe(before - 20);
    expect(await storedCounts(account.id)).toEqual({ messages: stored.messages + 2, campaigns: stored.campaigns + 1, usage: stored.usage + 2 });

    const got = await call("GET", `/v1/whatsapp/messages/${data.messages[0].id}`, { key: account.key });
    expect(got.status).toBe(200);
    expect(got.json.data.id).toBe(data.messages[0].id);
  });

  it("accepts the session_id string and holds a future scheduled_at as `scheduled`", async () => {
    const at = farFuture();
    const res = await send(account.key, text({ whatsapp_session_id: session.session_id, scheduled_at: at, callback_url: "https://example.com/cb", callback_data: "order-7" }));
    expect(res.status, res.text).toBe(201);
    expect(res.json.data.messages[0]).toMatchObject({
      status: "scheduled",
      scheduled_at: new Date(at).toISOString().replace("Z", "000Z"),
      callback_url: "https://example.com/cb",
      callback_data: "order-7",
    });
  });

  it("stores the type-specific fields the outbox needs", async () => {
    const poll = await send(account.key, text({ type: "poll", content: undefined, poll: { name: "Lunch?", options: ["Yes", "No"] } }));
    expect(poll.status, poll.text).toBe(201);
    expect(poll.json.data.messages[0].payload).toEqual({ poll: { name: "Lunch?", options: ["Yes", "No"], selectable_count: 1 } });

    const location = await send(account.key, text({ type: "location", content: undefined, location: { latitude: 6.37, longitude: 2.39, name: "Cotonou" } }));
    expect(location.status, location.text).toBe(201);
    expect(location.json.data.messages[0].payload).toEqual({ latitude: 6.37, longitude: 2.39, name: "Cotonou" });

    const contacts = await send(account.key, text({
      type: "contacts",
      content: undefined,
      contacts: [{ name: { formatted_name: "Ann Lee", first_name: "Ann" }, phones: [{ wa_id: "14155552671", type: "WORK" }] }],
    }));
    expect(contacts.status, contacts.text).toBe(201);
    expect(contacts.json.data.messages[0].payload.contacts[0].phones[0]).toEqual({ wa_id: "14155552671", type: "WORK", phone: "+14155552671" });

    const mention = await send(account.key, text({ content: "hi @14155552671", mentions: ["+1 415 555 2671"] }));
    expect(mention.json.data.messages[0].payload).toEqual({ mentions: ["14155552671"] });
  });

  it("422 names every invalid field, and stores nothing", async () => {
    const before = await storedCounts(account.id);
    const res = await send(account.key, text({ to_number: ["+14155552671", "12", "abc"], content: "x".repeat(4097), delay_between: -1 }));
    expect(res.status).toBe(422);
    expect(res.json.success).toBe(false);
    expect(res.json.error.code).toBe("validation_failed");
    expect(res.json.error.details.map((d: any) => d.field).sort()).toEqual(["content", "delay_between", "to_number.1", "to_number.2"]);

    const wrongType = await send(account.key, text({ type: "image", content: "caption" }));
    expect(wrongType.status).toBe(422);
    expect(wrongType.json.error.details.map((d: any) => d.field)).toEqual(["media_url"]);
    expect(await storedCounts(account.id)).toEqual(before);
  });

  it("422 for a reaction or reply to a message that is not in the session or not sent", async () => {
    const reaction = await send(account.key, text({ type: "reaction", content: undefined, reaction: { message_id: crypto.randomUUID(), emoji: "👍" } }));
    expect(reaction.status).toBe(422);
    expect(reaction.json.error.details[0].field).toBe("reaction.message_id");

    const queued = await send(account.key, text());
    const reply = await send(account.key, text({ reply_to: queued.json.data.messages[0].id }));
    expect(reply.status).toBe(422);
    expect(reply.json.error.details[0]).toMatchObject({ field: "reply_to", code: "not_sent" });
  });

  it("404 for an unknown session (or another account's), 409 when the session is not connected", async () => {
    const missing = await send(account.key, text({ whatsapp_session_id: crypto.randomUUID() }));
    expect(missing.status).toBe(404);

    const other = await createAccount({ balance: 1000 });
    const foreign = await send(other.key, text());
    expect(foreign.status).toBe(404);
    expect(await storedCounts(other.id)).toEqual({ messages: 0, campaigns: 0, usage: 0 });

    const { session: pending } = await createSandboxSession(account.key);
    const before = await balanceOf(account.key);
    const notConnected = await send(account.key, text({ whatsapp_session_id: pending.id }));
    expect(notConnected.status).toBe(409);
    expect(notConnected.json.error.code).toBe("session_not_connected");
    expect(await balanceOf(account.key)).toBe(before);
  });
});

describe("balance and daily limit", () => {
  it("402 when the balance does not cover every recipient, and nothing is stored", async () => {
    const poor = await createAccount({ balance: 25, message_cost: 10, plan: "pro" });
    const { session: s } = await linkedSession(poor.key);
    const res = await send(poor.key, { ...text(), whatsapp_session_id: s.id, to_number: numbers(3) });
    expect(res.status).toBe(402);
    expect(res.json.error).toMatchObject({ code: "insufficient_balance", details: { required: 30, count: 3 } });
    expect(await balanceOf(poor.key)).toBe(25);
    expect(await storedCounts(poor.id)).toEqual({ messages: 0, campaigns: 0, usage: 0 });

    // Exactly enough is enough.
    const two = await send(poor.key, { ...text(), whatsapp_session_id: s.id, to_number: numbers(2) });
    expect(two.status, two.text).toBe(201);
    expect(two.json.data).toMatchObject({ new_balance: 5, remaining_messages: 0 });
  });

  it("429 with Retry-After when the plan's daily limit would be passed; nothing stored", async () => {
    const free = await createAccount({ balance: 100_000, message_cost: 1, plan: "free" });
    const { session: s } = await linkedSession(free.key);
    const ok = await send(free.key, { ...text(), whatsapp_session_id: s.id, to_number: numbers(99) });
    expect(ok.status, ok.text).toBe(201);

    const over = await send(free.key, { ...text(), whatsapp_session_id: s.id, to_number: numbers(2, 200) });
    expect(over.status).toBe(429);
    expect(over.json.error.code).toBe("daily_limit_reached");
    const retryAfter = Number(over.headers.get("Retry-After"));
    const midnight = new Date();
    midnight.setUTCHours(24, 0, 0, 0);
    expect(retryAfter).toBeGreaterThan(0);
    expect(Math.abs(retryAfter - (midnight.getTime() - Date.now()) / 1000)).toBeLessThan(5);
    expect(await storedCounts(free.id)).toEqual({ messages: 99, campaigns: 1, usage: 99 });
    expect(await balanceOf(free.key)).toBe(100_000 - 99);

    const last = await send(free.key, { ...text(), whatsapp_session_id: s.id, to_number: numbers(1, 300) });
    expect(last.status, last.text).toBe(201);
  });

  it("concurrent sends never overdraw the balance", async () => {
    const acct = await createAccount({ balance: 50, message_cost: 10, plan: "pro" });
    const { session: s } = await linkedSession(acct.key);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => send(acct.key, { ...text(), whatsapp_session_id: s.id, to_number: numbers(1, i) })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((x) => x === 201)).toHaveLength(5);
    expect(statuses.filter((x) => x === 402)).toHaveLength(3);
    expect(await balanceOf(acct.key)).toBe(0);
    expect((await storedCounts(acct.id)).messages).toBe(5);
  });
});

describe("Idempotency-Key", () => {
  it("replays the first answer and creates nothing more", async () => {
    const key = `order-${crypto.randomUUID()}`;
    const before = await storedCounts(account.id);
    const balance = await balanceOf(account.key);
    const body = text({ to_number: numbers(2) });
    const first = await send(account.key, body, { "Idempotency-Key": key });
    expect(first.status, first.text).toBe(201);
    const again = await send(account.key, body, { "Idempotency-Key": key });
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await storedCounts(account.id)).toEqual({ messages: before.messages + 2, campaigns: before.campaigns + 1, usage: before.usage + 2 });
    expect(await balanceOf(account.key)).toBe(balance - 20);
  });

  it("refuses the same key with another body", async () => {
    const key = crypto.randomUUID();
    const body = text();
    expect((await send(account.key, body, { "Idempotency-Key": key })).status).toBe(201);
    const other = await send(account.key, { ...body, content: "something else" }, { "Idempotency-Key": key });
    expect(other.status).toBe(422);
    expect(other.json.error.code).toBe("idempotency_key_reused");
  });

  it("two concurrent requests with one key create one send", async () => {
    const key = crypto.randomUUID();
    const before = await storedCounts(account.id);
    const body = text({ content: "concurrent" });
    const [a, b] = await Promise.all([send(account.key, body, { "Idempotency-Key": key }), send(account.key, body, { "Idempotency-Key": key })]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.json.data.messages[0].id).toBe(b.json.data.messages[0].id);
    expect((await storedCounts(account.id)).messages).toBe(before.messages + 1);
  });

  it("does not remember failures: a 402 can be retried with the same key after a top-up", async () => {
    const poor = await createAccount({ balance: 5, message_cost: 10, plan: "pro" });
    const { session: s } = await linkedSession(poor.key);
    const key = crypto.randomUUID();
    const body = { ...text(), whatsapp_session_id: s.id };
    expect((await send(poor.key, body, { "Idempotency-Key": key })).status).toBe(402);
    await env.DB.prepare("UPDATE accounts SET balance = 100 WHERE id = ?").bind(poor.id).run();
    const retried = await send(poor.key, body, { "Idempotency-Key": key });
    expect(retried.status, retried.text).toBe(201);
    expect(retried.json.data.new_balance).toBe(90);
  });

  it("400 for a malformed key", async () => {
    const res = await send(account.key, text(), { "Idempotency-Key": "has spaces in it" });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_idempotency_key");
  });
});

describe("POST /v1/whatsapp/messages/batch", () => {
  it("validates each item on its own and accepts the valid ones", async () => {
    const before = await storedCounts(account.id);
    const res = await call("POST", "/v1/whatsapp/messages/batch", {
      key: account.key,
      body: {
        messages: [
          text({ to_number: ["+14155550001"] }),
          text({ to_number: ["nope"] }),
          text({ type: "image", content: undefined }),
          text({ whatsapp_session_id: crypto.randomUUID() }),
          text({ to_number: ["+14155550002", "+14155550003"], content: "two" }),
        ],
      },
    });
    expect(res.status, res.text).toBe(200);
    const { results, accepted, rejected, count, total_cost } = res.json.data;
    expect({ accepted, rejected, count, total_cost }).toEqual({ accepted: 2, rejected: 3, count: 3, total_cost: 30 });
    expect(results[0]).toMatchObject({ index: 0, status: "OK", id: expect.any(String), message_ids: [expect.any(String)] });
    expect(results[1]).toEqual({ index: 1, status: "REJECTED", reasons: [expect.objectContaining({ field: "messages.1.to_number.0" })] });
    expect(results[2].reasons.map((r: any) => r.field)).toEqual(["messages.2.media_url"]);
    expect(results[3].reasons[0]).toMatchObject({ field: "messages.3.whatsapp_session_id", code: "not_found" });
    expect(results[4].message_ids).toHaveLength(2);
    expect(await storedCounts(account.id)).toEqual({ messages: before.messages + 3, campaigns: before.campaigns + 2, usage: before.usage + 3 });

    const one = await call("GET", `/v1/whatsapp/messages/${results[0].id}`, { key: account.key });
    expect(one.json.data).toMatchObject({ to_number: "14155550001", status: "scheduled" });
  });

  it("charges the accepted items together: 402 stores none of them", async () => {
    const poor = await createAccount({ balance: 15, message_cost: 10, plan: "pro" });
    const { session: s } = await linkedSession(poor.key);
    const item = (n: string) => ({ ...text(), whatsapp_session_id: s.id, to_number: [n] });
    const res = await call("POST", "/v1/whatsapp/messages/batch", { key: poor.key, body: { messages: [item("+14155550001"), item("+14155550002")] } });
    expect(res.status).toBe(402);
    expect(await storedCounts(poor.id)).toEqual({ messages: 0, campaigns: 0, usage: 0 });
  });

  it("refuses an empty batch and more than 100 items", async () => {
    expect((await call("POST", "/v1/whatsapp/messages/batch", { key: account.key, body: { messages: [] } })).status).toBe(422);
    const many = Array.from({ length: 101 }, () => text());
    expect((await call("POST", "/v1/whatsapp/messages/batch", { key: account.key, body: { messages: many } })).status).toBe(422);
  });
});
