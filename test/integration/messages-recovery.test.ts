import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toTimestamp } from "../../src/domain/time";
import worker from "../../src/index";
import { call, createAccount } from "../helpers/api";
import { farFuture, send } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";

// Every accepted message ends in a final state, also when its send job was lost or its
// session was deleted before sending it.

describe("message recovery", () => {
  it("sends a message whose send job was lost, from the cron", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key);
    // An accepted, charged row whose queue message never went out (a crash in between).
    const id = crypto.randomUUID();
    const old = toTimestamp(Date.now() - 60 * 60_000);
    await env.DB.prepare(
      `INSERT INTO messages (id, account_id, whatsapp_session_id, from_number, to_number, type, content, status, direction, cost, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'text', 'lost in transit', 'queued', 'outgoing', 10, ?, ?)`,
    )
      .bind(id, account.id, session.id, session.phone_number, contact.phone_number, old, old)
      .run();

    await worker.scheduled(createScheduledController({ cron: "*/10 * * * *" }), env, createExecutionContext());
    await expect
      .poll(async () => (await call("GET", `/v1/whatsapp/messages/${id}`, { key: account.key })).json.data.status, { timeout: 20_000 })
      .toMatch(/^(sent|delivered)$/);
    const inbox = (await call("GET", `/v1/sandbox/phones/${contact.phone_number}/inbox`, { key: account.key })).json.messages;
    expect(inbox.filter((m: any) => m.text === "lost in transit")).toHaveLength(1);
  });

  it("fails and refunds what a deleted session had not sent yet", async () => {
    const account = await createAccount({ balance: 1000, message_cost: 10 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key);
    const res = await send(account.key, {
      whatsapp_session_id: session.id,
      to_number: [contact.phone_number],
      type: "text",
      content: "later",
      scheduled_at: farFuture(),
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.data.new_balance).toBe(990);

    expect((await call("DELETE", `/v1/whatsapp/sessions/${session.id}`, { key: account.key })).status).toBe(200);
    const message = (await call("GET", `/v1/whatsapp/messages/${res.json.data.messages[0].id}`, { key: account.key })).json.data;
    expect(message).toMatchObject({ status: "failed", reason: "session_deleted" });
    expect((await call("GET", "/v1/account", { key: account.key })).json.account.balance).toBe(1000);
  });
});
