import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { findMessage } from "../../src/db/messages.query";
import { database } from "../../src/db/client";
import { messageEventData } from "../../src/events/message-events";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { send } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";
import { holdFlushes, inside, journalSize } from "../helpers/session-inside";
import { newEndpoint } from "../helpers/webhook-receiver";

// The deliveries the status flush writes in SQL (db/messages.flush.ts): each body field for
// field as messageEventData builds it, with the status fields as the change left them, the
// callback's own fields, and only the webhooks whose session and filters want the event.

const EVENTS = ["message.sent", "message.delivered", "message.read"];

async function createWebhook(account: TestAccount, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: newEndpoint().url, events: EVENTS, ...body } });
  expect(res.status, res.text).toBe(201);
  return res.json.webhook as { id: string };
}

type Delivery = { webhook_id: string | null; url: string; event_type: string; payload: string };

async function deliveriesOfMessage(id: string): Promise<Delivery[]> {
  const { results } = await env.DB.prepare("SELECT webhook_id, url, event_type, payload FROM webhook_deliveries WHERE json_extract(payload, '$.data.id') = ?")
    .bind(id)
    .all<Delivery>();
  return results;
}

describe("status flush payloads", () => {
  it("an ack and its receipt flushed in one batch: callback and webhooks get the same bodies, as messageEventData, with the status as of each change", async () => {
    const account = await createAccount({ plan: "pro", balance: 1_000 });
    const { session } = await linkedSession(account.key);
    const other = await linkedSession(account.key);
    const all = await createWebhook(account, {});
    const bound = await createWebhook(account, { whatsapp_session_id: session.id });
    const elsewhere = await createWebhook(account, { whatsapp_session_id: other.session.id });
    const groupsOnly = await createWebhook(account, { filters: { chat_types: ["group"] } });
    const textOnly = await createWebhook(account, { filters: { message_types: ["text"], from_me: true } });
    const to = (await createPhone(account.key, { receipt_policy: { delivered: "auto", read: "manual" } })).phone_number;
    const callback = newEndpoint().url;

    await holdFlushes(session.id, true);
    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: [to], type: "text", content: "payload", callback_url: callback, callback_data: "ticket-9" });
    expect(res.status, res.text).toBe(201);
    const id = res.json.data.messages[0].id as string;
    // The ack and the delivery receipt both journaled: one flush carries both.
    await expect.poll(() => journalSize(session.id), { timeout: 30_000, interval: 50 }).toBe(2);
    await holdFlushes(session.id, false);
    await inside(session.id, (o) => o.flusher.flush());
    expect(await journalSize(session.id)).toBe(0);

    const row = (await findMessage(database(env), account.id, id))!;
    expect(row.status).toBe("delivered");
    const deliveries = await deliveriesOfMessage(id);
    const targets = (type: string) => deliveries.filter((d) => d.event_type === type).map((d) => d.webhook_id ?? "callback").sort();
    const wanted = [all.id, bound.id, textOnly.id, "callback"].sort();
    expect(targets("message.sent")).toEqual(wanted);
    expect(targets("message.delivered")).toEqual(wanted);
    expect(deliveries.some((d) => d.webhook_id === elsewhere.id || d.webhook_id === groupsOnly.id)).toBe(false);

    const expected: Record<string, Record<string, unknown>> = {
      "message.sent": { ...messageEventData(row), status: "sent", delivered_at: null, read_at: null },
      "message.delivered": messageEventData(row),
    };
    for (const d of deliveries) {
      const body = JSON.parse(d.payload);
      expect(body, d.event_type).toMatchObject({ type: d.event_type, account_id: account.id, session_id: session.id });
      if (d.webhook_id === null) {
        expect(d.url).toBe(callback);
        const { callback_data, ...data } = body.data;
        expect(callback_data).toBe("ticket-9");
        expect(data, d.event_type).toEqual(expected[d.event_type]);
        // Field for field, in messageEventData's order, callback_data last.
        expect(Object.keys(body.data)).toEqual([...Object.keys(messageEventData(row)), "callback_data"]);
      } else {
        expect(body.data, d.event_type).toEqual(expected[d.event_type]);
        expect(Object.keys(body.data)).toEqual(Object.keys(messageEventData(row)));
      }
    }
    // One body per event, whoever receives it.
    for (const type of ["message.sent", "message.delivered"]) {
      const hooks = deliveries.filter((d) => d.event_type === type && d.webhook_id !== null).map((d) => d.payload);
      expect(new Set(hooks).size, type).toBe(1);
    }
  }, 120_000);
});
