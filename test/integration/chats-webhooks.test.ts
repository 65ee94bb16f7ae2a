import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { contactWrites } from "../helpers/bot";
import { storedIncoming } from "../helpers/chats";
import { connectedSession } from "../helpers/messages";
import { poll } from "../helpers/sandbox-client";
import { createPhone } from "../helpers/sessions";
import { newEndpoint } from "../helpers/webhook-receiver";

// A chat's settings changed on the phone → a `chat.updated` event, which the seed's
// `settings_types: ["chats"]` filter selects (and `["messages"]` does not).

describe("chat.updated webhook events", () => {
  it("tells subscribers what the phone changed, under settings_types chats", async () => {
    const account = await createAccount({ balance: 10_000, message_cost: 10, plan: "pro" });
    const session = await connectedSession(account.key);
    const hana = (await createPhone(account.key, { name: "Hana" })).phone_number;
    const hook = async (filters: Record<string, unknown>) => {
      const res = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: newEndpoint().url, events: ["chat.updated", "message.received"], filters } });
      expect(res.status, res.text).toBe(201);
      return res.json.webhook.id as string;
    };
    const chats = await hook({ settings_types: ["chats"] });
    const messages = await hook({ settings_types: ["messages"] });
    const payloads = async (id: string) =>
      (await call("GET", `/v1/whatsapp/webhooks/${id}/deliveries?limit=100`, { key: account.key })).json.deliveries.map((d: any) => d.payload);

    await storedIncoming(session.id, await contactWrites(account, hana, session.phone_number, "Hello"));
    const pushed = await call("POST", `/v1/sandbox/phones/${session.phone_number}/chat-actions`, { key: account.key, body: { chat: hana, action: "archive" } });
    expect(pushed.status, pushed.text).toBe(200);

    await expect.poll(async () => (await payloads(chats)).find((p: any) => p.type === "chat.updated")?.data, poll).toEqual({
      chat_id: hana,
      chat_type: "contact",
      changes: { archived: true },
    });
    // The messages-only webhook got the message and no chat event.
    await expect.poll(async () => (await payloads(messages)).map((p: any) => p.type), poll).toContain("message.received");
    expect((await payloads(messages)).map((p: any) => p.type)).not.toContain("chat.updated");
    expect((await payloads(chats)).map((p: any) => p.type)).not.toContain("message.received");
  });
});
