import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { contactWrites } from "../helpers/bot";
import { chatOf, storedIncoming } from "../helpers/chats";
import { connectedSession, send } from "../helpers/messages";
import { poll } from "../helpers/sandbox-client";
import { createPhone } from "../helpers/sessions";

// A contact WhatsApp addresses by LID: its chat is listed under its number (both directions in
// one chat), and read receipts go back to the LID its messages came from.

let account: TestAccount;
let session: { id: string; phone_number: string };
let lina: string;

beforeAll(async () => {
  account = await createAccount({ balance: 10_000, message_cost: 10, plan: "pro" });
  session = await connectedSession(account.key);
  lina = (await createPhone(account.key, { name: "Lina", lid_addressed: true })).phone_number;
}, 60_000);

describe("chats with a LID-addressed contact", () => {
  it("are one chat under the number, and reading reaches the sender", async () => {
    const id = await contactWrites(account, lina, session.phone_number, "Hi from a LID");
    await storedIncoming(session.id, id);
    const sent = await send(account.key, { whatsapp_session_id: session.id, to_number: [lina], type: "text", content: "Hi Lina" });
    expect(sent.status, sent.text).toBe(201);

    const chat = await chatOf(account.key, session.id, lina);
    expect(chat).toMatchObject({ type: "individual", unread_count: 1, last_message: { direction: "outgoing", preview: "Hi Lina" } });
    const conversation = await call("GET", `/v1/whatsapp/sessions/${session.id}/chats/${lina}/messages`, { key: account.key });
    expect(conversation.json.data.map((m: any) => m.direction)).toEqual(["outgoing", "incoming"]);

    const read = await call("POST", `/v1/whatsapp/sessions/${session.id}/chats/${lina}/read`, { key: account.key });
    expect(read.json.data.marked).toBe(1);
    await expect
      .poll(async () => {
        const inbox = await call("GET", `/v1/sandbox/phones/${lina}/inbox`, { key: account.key });
        return inbox.json.messages.find((m: any) => m.id === id && m.direction === "out")?.read_at ?? null;
      }, poll)
      .not.toBeNull();
    expect((await chatOf(account.key, session.id, lina)).unread_count).toBe(0);
  });
});
