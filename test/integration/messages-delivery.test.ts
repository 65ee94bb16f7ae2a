import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { send } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";

// Messages accepted by the API travel the real path: D1 → send queue → session outbox →
// Baileys → sandbox WhatsApp, where the contact's phone decrypts them.

async function waitForMessage(key: string, id: string, match: (m: any) => boolean, timeout = 20_000) {
  let last: any;
  await expect
    .poll(
      async () => {
        last = (await call("GET", `/v1/whatsapp/messages/${id}`, { key })).json;
        return match(last?.data ?? last?.message ?? last);
      },
      { timeout, interval: 100 },
    )
    .toBe(true);
  return last?.data ?? last?.message ?? last;
}

async function inbox(key: string, phone: string) {
  const res = await call("GET", `/v1/sandbox/phones/${phone}/inbox`, { key });
  expect(res.status, res.text).toBe(200);
  return res.json.messages as any[];
}

describe("message delivery", () => {
  it("sends a text that the contact reads exactly, then follows receipts to delivered and read", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Bob", receipt_policy: { delivered: "auto", read: "manual" } });

    const res = await send(account.key, {
      whatsapp_session_id: session.id,
      to_number: [`+${contact.phone_number}`],
      type: "text",
      content: "Your code is 123456 — ünïcødé ✓",
    });
    expect(res.status, res.text).toBe(201);
    const id = res.json.data.messages[0].id;

    const sent = await waitForMessage(account.key, id, (m) => m?.status === "delivered");
    expect(sent.provider_message_id).toMatch(/^3EB0[0-9A-F]+$/);
    expect(sent.sent_at).toMatch(/\.\d{6}Z$/);
    expect(sent.delivered_at).toMatch(/\.\d{6}Z$/);

    const received = (await inbox(account.key, contact.phone_number)).filter((m) => m.id === sent.provider_message_id);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ type: "text", text: "Your code is 123456 — ünïcødé ✓" });

    const read = await call("POST", `/v1/sandbox/phones/${contact.phone_number}/receipts`, {
      key: account.key,
      body: { ids: [sent.provider_message_id], type: "read" },
    });
    expect(read.status, read.text).toBe(200);
    const done = await waitForMessage(account.key, id, (m) => m?.status === "read");
    expect(done.read_at).toMatch(/\.\d{6}Z$/);
  });

  it("fails and refunds a message to a number that is not on WhatsApp", async () => {
    const account = await createAccount({ balance: 1000, message_cost: 10 });
    const { session } = await linkedSession(account.key);
    const res = await send(account.key, {
      whatsapp_session_id: session.id,
      to_number: ["+14155550199"],
      type: "text",
      content: "hello?",
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.data.new_balance).toBe(990);
    const failed = await waitForMessage(account.key, res.json.data.messages[0].id, (m) => m?.status === "failed");
    expect(failed.reason).toBe("not_on_whatsapp");
    const me = await call("GET", "/v1/account", { key: account.key });
    expect(me.json.account.balance).toBe(1000);
  });

  it("revokes a sent message for everyone", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key);
    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: [contact.phone_number], type: "text", content: "oops" });
    const id = res.json.data.messages[0].id;
    await waitForMessage(account.key, id, (m) => ["sent", "delivered"].includes(m?.status));
    const del = await call("DELETE", `/v1/whatsapp/messages/${id}`, { key: account.key });
    expect(del.status, del.text).toBe(200);
    const providerId = (await call("GET", `/v1/whatsapp/messages/${id}`, { key: account.key })).json.data.provider_message_id;
    await expect
      .poll(async () => (await inbox(account.key, contact.phone_number)).find((m) => m.id === providerId)?.revoked_at ?? null, { timeout: 10_000 })
      .toMatch(/^\d{4}-/);
  });
});
