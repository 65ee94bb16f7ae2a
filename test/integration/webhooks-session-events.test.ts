import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { send } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";
import { newEndpoint, received, waitFor } from "../helpers/webhook-receiver";

// Events produced by a real session (the Baileys client against the sandbox) reach a real
// HTTP receiver, signed per Standard Webhooks.

async function createWebhook(account: TestAccount, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body });
  expect(res.status, res.text).toBe(201);
  return res.json.webhook as { id: string; secret: string };
}

async function eventsAt(key: string, secret: string) {
  const wh = new Webhook(secret);
  return (await received(key)).map((r) => wh.verify(r.body, r.headers) as any);
}

async function contactWrites(account: TestAccount, from: string, to: string, text: string) {
  const res = await call("POST", `/v1/sandbox/phones/${from}/messages`, { key: account.key, body: { to, type: "text", text } });
  expect(res.status, res.text).toBe(201);
}

describe("session events to webhooks", () => {
  it("stores a contact's message as incoming and delivers message.received, signed", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const endpoint = newEndpoint();
    const hook = await createWebhook(account, { url: endpoint.url, events: ["message.received"] });
    const contact = await createPhone(account.key, { name: "Carol" });

    await contactWrites(account, contact.phone_number, session.phone_number, "Is my order shipped?");
    const [event] = await waitFor("message.received", async () => {
      const events = await eventsAt(endpoint.key, hook.secret);
      return events.length ? events : undefined;
    });
    expect(event).toMatchObject({
      type: "message.received",
      session_id: session.id,
      data: { from_me: false, type: "text", content: "Is my order shipped?", from_number: contact.phone_number, push_name: "Carol" },
    });

    const list = await call("GET", `/v1/whatsapp/messages?filter[direction]=incoming&session_id=${session.session_id}`, { key: account.key });
    expect(list.json.data).toHaveLength(1);
    expect(list.json.data[0]).toMatchObject({
      id: event.data.id,
      direction: "incoming",
      from_number: contact.phone_number,
      to_number: session.phone_number,
      content: "Is my order shipped?",
    });
  });

  it("delivers message.sent and message.delivered for a sent message, and honours the type filter", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const statusEndpoint = newEndpoint();
    const statusHook = await createWebhook(account, { url: statusEndpoint.url, events: ["message.sent", "message.delivered"] });
    const imagesOnly = newEndpoint();
    await createWebhook(account, { url: imagesOnly.url, events: ["message.sent"], filters: { message_types: ["image"] } });
    const contact = await createPhone(account.key);

    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: [contact.phone_number], type: "text", content: "Shipped!" });
    expect(res.status, res.text).toBe(201);
    const events = await waitFor("sent and delivered", async () => {
      const list = await eventsAt(statusEndpoint.key, statusHook.secret);
      return list.length >= 2 ? list : undefined;
    });
    expect(events.map((e) => e.type).sort()).toEqual(["message.delivered", "message.sent"]);
    expect(events.every((e) => e.data.id === res.json.data.messages[0].id)).toBe(true);
    // The filtered webhook saw nothing: the message is a text.
    expect(await received(imagesOnly.key)).toEqual([]);
  });

  it("loses no incoming message while the session object restarts", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const endpoint = newEndpoint();
    const hook = await createWebhook(account, { url: endpoint.url, events: ["message.received"] });
    const contact = await createPhone(account.key);
    // A stub that saw its object abort stays broken: take a fresh one for every call.
    const object = () => env.SESSION.get(env.SESSION.idFromName(session.id));

    await runInDurableObject(object(), (_, state) => state.abort("deploy")).catch(() => {});
    // Written while the session is down: the sandbox keeps it for the device.
    await contactWrites(account, contact.phone_number, session.phone_number, "sent during the restart");
    // The watchdog alarm wakes the object; a call racing the abort may still see it broken.
    await waitFor("the session object back", async () => {
      try {
        await runDurableObjectAlarm(object());
        return (await object().snapshot()).socketOpen;
      } catch {
        return undefined;
      }
    });

    const [event] = await waitFor("message.received after restart", async () => {
      const events = await eventsAt(endpoint.key, hook.secret);
      return events.length ? events : undefined;
    });
    expect(event.data.content).toBe("sent during the restart");
  });
});
