import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { failMessages, markMessageFailed, markMessageSent, markMessagesByProvider } from "../../src/db/messages.status";
import { findMessage } from "../../src/db/messages.query";
import { insertIncomingMessage } from "../../src/db/messages.incoming";
import { handleSendBatch, packSendJobs, type SendJob } from "../../src/queues/send.queue";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { balanceOf, connectedSession, farFuture, numbers, send } from "../helpers/messages";
import { createPhone } from "../helpers/sessions";

const db = () => database(env);
const waId = () => `3EB0${crypto.randomUUID().replace(/-/g, "").slice(0, 20).toUpperCase()}`;
let account: TestAccount;
let session: { id: string; phone_number: string };

beforeAll(async () => {
  account = await createAccount({ balance: 1000, message_cost: 10, plan: "pro" });
  session = await connectedSession(account.key);
}, 60_000);

async function scheduled(count = 1) {
  const res = await send(account.key, { whatsapp_session_id: session.id, to_number: numbers(count, 700), type: "text", content: "x", scheduled_at: farFuture() });
  expect(res.status, res.text).toBe(201);
  return res.json.data.messages.map((m: any) => m.id) as string[];
}

describe("status changes the session object makes", () => {
  it("markMessageFailed fails and refunds exactly once", async () => {
    const [id] = await scheduled();
    const balance = await balanceOf(account.key);
    const failed = await markMessageFailed(db(), id, "not_on_whatsapp");
    expect(failed).toMatchObject({ id, status: "failed", reason: "not_on_whatsapp" });
    expect(await balanceOf(account.key)).toBe(balance + 10);
    expect(await markMessageFailed(db(), id, "again")).toBeNull();
    expect(await failMessages(db(), [id, id], "again")).toEqual([]);
    expect(await balanceOf(account.key)).toBe(balance + 10);
    expect(await markMessageSent(db(), id, waId(), new Date().toISOString())).toBeNull();
  });

  it("failMessages refunds each account its own messages", async () => {
    const other = await createAccount({ balance: 100, message_cost: 7, plan: "pro" });
    const otherSession = await connectedSession(other.key);
    const theirs = await send(other.key, { whatsapp_session_id: otherSession.id, to_number: numbers(2), type: "text", content: "y", scheduled_at: farFuture() });
    const mine = await scheduled(3);
    const [myBalance, theirBalance] = [await balanceOf(account.key), await balanceOf(other.key)];
    const failed = await failMessages(db(), [...mine, ...theirs.json.data.messages.map((m: any) => m.id)], "dead");
    expect(failed).toHaveLength(5);
    expect(await balanceOf(account.key)).toBe(myBalance + 30);
    expect(await balanceOf(other.key)).toBe(theirBalance + 14);
  });

  it("receipts move sent → delivered → read, never backwards; read alone sets both", async () => {
    const [x, y] = await scheduled(2);
    const [px, py] = [waId(), waId()];
    const sent = await markMessageSent(db(), x, px, "2030-01-01T00:00:00.000000Z");
    expect(sent).toMatchObject({ status: "sent", providerMessageId: px, sentAt: "2030-01-01T00:00:00.000000Z" });
    expect(await markMessageSent(db(), x, waId(), "2030-01-01T00:00:01.000000Z")).toBeNull();
    await markMessageSent(db(), y, py, "2030-01-01T00:00:00.000000Z");

    const delivered = await markMessagesByProvider(db(), session.id, [px], "delivered", "2030-01-01T00:00:02.000000Z");
    expect(delivered.map((r) => [r.id, r.status, r.deliveredAt])).toEqual([[x, "delivered", "2030-01-01T00:00:02.000000Z"]]);
    const read = await markMessagesByProvider(db(), session.id, [px, py], "read", "2030-01-01T00:00:03.000000Z");
    expect(read.map((r) => r.id).sort()).toEqual([x, y].sort());
    const ry = read.find((r) => r.id === y)!;
    expect([ry.deliveredAt, ry.readAt]).toEqual(["2030-01-01T00:00:03.000000Z", "2030-01-01T00:00:03.000000Z"]);
    expect(await markMessagesByProvider(db(), session.id, [px], "delivered", "2030-01-01T00:00:04.000000Z")).toEqual([]);
    expect((await findMessage(db(), account.id, x))!.status).toBe("read");
    // Another session's receipts never touch these rows.
    expect(await markMessagesByProvider(db(), crypto.randomUUID(), [px], "read", "2030-01-01T00:00:05.000000Z")).toEqual([]);
  });

  it("insertIncomingMessage stores a provider id once", async () => {
    const input = {
      accountId: account.id,
      whatsappSessionId: session.id,
      providerMessageId: waId(),
      fromNumber: "14155559999",
      toNumber: session.phone_number,
      type: "text",
      content: "hello",
      receivedAtIso: "2030-01-01T00:00:00.000000Z",
    };
    const row = await insertIncomingMessage(db(), input);
    expect(row).toMatchObject({ direction: "incoming", status: "delivered", cost: 0, content: "hello", sentAt: "2030-01-01T00:00:00.000000Z" });
    expect(await insertIncomingMessage(db(), input)).toBeNull();
  });
});

describe("DELETE /v1/whatsapp/messages/{id}", () => {
  it("409 for messages not sent or not ours to revoke, 404 for unknown ones", async () => {
    const [queued] = await scheduled();
    const notSent = await call("DELETE", `/v1/whatsapp/messages/${queued}`, { key: account.key });
    expect(notSent.status).toBe(409);
    expect(notSent.json.error.code).toBe("message_not_revocable");

    const incoming = await insertIncomingMessage(db(), {
      accountId: account.id, whatsappSessionId: session.id, providerMessageId: waId(), fromNumber: "14155559999",
      toNumber: session.phone_number, type: "text", content: "hi", receivedAtIso: new Date().toISOString(),
    });
    expect((await call("DELETE", `/v1/whatsapp/messages/${incoming!.id}`, { key: account.key })).status).toBe(409);
    expect((await call("DELETE", `/v1/whatsapp/messages/${crypto.randomUUID()}`, { key: account.key })).status).toBe(404);
  });
});

describe("send queue consumer", () => {
  const batchOf = (jobs: unknown[]) =>
    createMessageBatch<SendJob>("wa-send", jobs.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body: body as SendJob })));

  it("acks jobs whose messages are already final, and malformed jobs, without retrying", async () => {
    const [id] = await scheduled();
    await markMessageFailed(db(), id, "gone");
    const row = (await findMessage(db(), account.id, id))!;
    const job = packSendJobs(session.id, [{ messageId: id, accountId: account.id, to: row.toNumber, type: "text", content: "x", mediaUrl: null, payload: null, campaignId: row.campaignId, delayBetweenMs: 0, scheduledAt: null }]);
    const batch = batchOf([...job, { nonsense: true }]);
    const ctx = createExecutionContext();
    await handleSendBatch(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual(["m0", "m1"]);
    expect((await findMessage(db(), account.id, id))!.status).toBe("failed");
  });

  it("hands pending messages to the session's outbox and acks", async () => {
    const [id] = await scheduled();
    const row = (await findMessage(db(), account.id, id))!;
    const jobs = packSendJobs(session.id, [
      { messageId: id, accountId: account.id, to: row.toNumber, type: "text", content: "x", mediaUrl: null, payload: null, campaignId: row.campaignId, delayBetweenMs: 0, scheduledAt: Date.parse(row.scheduledAt!) },
    ]);
    const batch = batchOf(jobs);
    const ctx = createExecutionContext();
    await handleSendBatch(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result).toMatchObject({ explicitAcks: ["m0"], retryMessages: [] });
  });

  it("end to end: a text accepted by the API reaches `sent` through the consumer and the outbox", async () => {
    const contact = await createPhone(account.key);
    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: [contact.phone_number], type: "text", content: "e2e" });
    expect(res.status, res.text).toBe(201);
    const m = res.json.data.messages[0];
    const jobs = packSendJobs(session.id, [
      { messageId: m.id, accountId: account.id, to: m.to_number, type: "text", content: "e2e", mediaUrl: null, payload: null, campaignId: m.campaign_id, delayBetweenMs: 500, scheduledAt: null },
    ]);
    const batch = batchOf(jobs);
    const ctx = createExecutionContext();
    await handleSendBatch(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["m0"]);
    await expect
      .poll(async () => (await findMessage(db(), account.id, m.id))?.status, { timeout: 20_000, interval: 200 })
      .toMatch(/^(sent|delivered|read)$/);
    expect((await findMessage(db(), account.id, m.id))!.providerMessageId).toMatch(/^3EB0/);
  });

  it("packs jobs within the queue's message size, keeping order", () => {
    const item = (i: number) => ({ messageId: `id${i}`, accountId: "a", to: "1", type: "text" as const, content: "x".repeat(4000), mediaUrl: null, payload: null, campaignId: null, delayBetweenMs: 0, scheduledAt: null });
    const jobs = packSendJobs("s", Array.from({ length: 250 }, (_, i) => item(i)));
    expect(jobs.flatMap((j) => j.items.map((i) => i.messageId))).toEqual(Array.from({ length: 250 }, (_, i) => `id${i}`));
    for (const job of jobs) expect(new TextEncoder().encode(JSON.stringify(job)).byteLength).toBeLessThan(128 * 1024);
  });
});
