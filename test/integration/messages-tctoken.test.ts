import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { balanceOf, send } from "../helpers/messages";
import { sandboxOf } from "../helpers/sandbox-client";
import { createPhone, fault, linkedSession, sessionObject } from "../helpers/sessions";

// Trusted-contact tokens on a restricted account (sandbox fault `require_tctoken`): a first
// message to a contact who never wrote is refused with 463 and refunded; once the contact writes,
// the server hands the session a `privacy_token`, Baileys attaches it, and the next send passes.
// Real Baileys client against the sandbox (docs/protocol/sending.md).

async function finalMessage(key: string, id: string, status: string) {
  let row: any;
  await expect
    .poll(async () => {
      row = (await call("GET", `/v1/whatsapp/messages/${id}`, { key })).json.data;
      return row?.status;
    }, { timeout: 30_000, interval: 100 })
    .toBe(status);
  return row;
}

async function sendText(key: string, sessionId: string, to: string, content: string): Promise<string> {
  const res = await send(key, { whatsapp_session_id: sessionId, to_number: [`+${to}`], type: "text", content });
  expect(res.status, res.text).toBe(201);
  return res.json.data.messages[0].id;
}

/** Privacy tokens the session's Baileys stored (auth keys of type `tctoken`, without its index). */
async function storedTokens(sessionId: string): Promise<number> {
  return runInDurableObject(sessionObject(sessionId), (_, state) =>
    state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM wa_auth_keys WHERE type = 'tctoken' AND id != '__index'").one().n,
  );
}

describe("trusted-contact tokens (463)", () => {
  it("a restricted account's first message to a cold contact fails with 463; after the contact writes, the token goes with the next send", async () => {
    const account = await createAccount({ balance: 1000, message_cost: 10 });
    const { session, phone: own } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Cold", receipt_policy: { delivered: "manual" } });
    await fault(account.key, session.id, { kind: "require_tctoken" });
    const sandbox = sandboxOf(account.id);

    const cold = await sendText(account.key, session.id, contact.phone_number, "hello stranger");
    expect((await finalMessage(account.key, cold, "failed")).reason).toBe("no_trusted_contact_token");
    expect(await balanceOf(account.key)).toBe(1000);
    expect((await sandbox.inbox(contact.phone_number)).some((m: any) => m.text === "hello stranger")).toBe(false);
    // Refused once: a 463 is final, the gateway never sends the cold message again.
    const refusals = ((await sandbox.events(1000)) as { kind: string; detail: any }[]).filter((e) => e.kind === "message_refused");
    expect(refusals.map((e) => ({ code: e.detail.code, to: e.detail.to }))).toEqual([{ code: "463", to: expect.stringContaining(contact.phone_number) }]);

    // The contact writes first: the server gives the session's devices the contact's token, once.
    for (const text of ["hi, it's me", "again"]) {
      const wrote = await call("POST", `/v1/sandbox/phones/${contact.phone_number}/messages`, { key: account.key, body: { to: own.phone_number, type: "text", text } });
      expect(wrote.status, wrote.text).toBe(201);
    }
    const issued = ((await sandbox.events(1000)) as { kind: string; detail: any }[]).filter((e) => e.kind === "privacy_token" && e.detail.from === contact.phone_number);
    expect(issued.map((e) => e.detail.to)).toEqual([own.phone_number]);
    await expect.poll(() => storedTokens(session.id), { timeout: 20_000, interval: 100 }).toBe(1);

    const warm = await sendText(account.key, session.id, contact.phone_number, "now we talk");
    const sent = await finalMessage(account.key, warm, "sent");
    const received = (await sandbox.inbox(contact.phone_number)).filter((m: any) => m.id === sent.provider_message_id);
    expect(received.map((m: any) => m.text)).toEqual(["now we talk"]);
    expect(await balanceOf(account.key)).toBe(990);
  }, 90_000);
});
