import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { inbox } from "../helpers/bot";
import { send } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";
import { newEndpoint, received, waitFor } from "../helpers/webhook-receiver";

// A contact WhatsApp addresses by LID (a sandbox phone with lid_addressed): its messages reach the
// session from its `…@lid` with its number in `sender_pn`, its receipts likewise. The gateway
// stores and reports its phone number, with the LID beside it, and never the LID as a number.

const poll = { timeout: 20_000, interval: 100 };

async function incoming(key: string, sessionId: string): Promise<any[]> {
  let rows: any[] = [];
  await expect
    .poll(async () => {
      rows = (await call("GET", `/v1/whatsapp/messages/${sessionId}/session?filter[direction]=incoming&limit=50`, { key })).json.data;
      return rows.length;
    }, poll)
    .toBeGreaterThanOrEqual(1);
  return rows;
}

async function hook(account: TestAccount, events: string[]) {
  const endpoint = newEndpoint();
  const res = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: endpoint.url, events } });
  expect(res.status, res.text).toBe(201);
  const wh = new Webhook(res.json.webhook.secret);
  return (what: string, match: (e: any) => boolean) =>
    waitFor(what, async () => (await received(endpoint.key)).map((r) => wh.verify(r.body, r.headers) as any).find(match), 30_000);
}

describe("messages from a LID-addressed contact", () => {
  it("are stored and reported with the contact's phone number and its LID apart", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const next = await hook(account, ["message.received"]);
    const lena = await createPhone(account.key, { name: "Lena", lid_addressed: true });
    expect(lena).toMatchObject({ lid_addressed: true });

    const sent = await call("POST", `/v1/sandbox/phones/${lena.phone_number}/messages`, { key: account.key, body: { to: session.phone_number, type: "text", text: "hi from a LID" } });
    expect(sent.status, sent.text).toBe(201);

    const [row] = await incoming(account.key, session.id);
    expect(row).toMatchObject({ content: "hi from a LID", from_number: lena.phone_number, from_lid: lena.lid, chat_lid: lena.lid });
    expect(row.payload).toMatchObject({ chat_id: `${lena.phone_number}@s.whatsapp.net`, author: lena.phone_number });

    const event = await next("message.received", (e) => e.type === "message.received" && e.data.provider_message_id === sent.json.message.id);
    expect(event.data).toMatchObject({ from_number: lena.phone_number, from_lid: lena.lid, chat_lid: lena.lid, chat_id: `${lena.phone_number}@s.whatsapp.net`, author: lena.phone_number });
  });

  it("a contact that turns LID-addressed later keeps its number on new messages", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const omar = await createPhone(account.key, { name: "Omar" });
    const first = await call("POST", `/v1/sandbox/phones/${omar.phone_number}/messages`, { key: account.key, body: { to: session.phone_number, type: "text", text: "by number" } });
    expect(first.status, first.text).toBe(201);
    await incoming(account.key, session.id);

    const patched = await call("PATCH", `/v1/sandbox/phones/${omar.phone_number}`, { key: account.key, body: { lid_addressed: true } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json.phone).toMatchObject({ lid_addressed: true, group_add_privacy: "all" });
    const second = await call("POST", `/v1/sandbox/phones/${omar.phone_number}/messages`, { key: account.key, body: { to: session.phone_number, type: "text", text: "by LID" } });
    expect(second.status, second.text).toBe(201);

    let rows: any[] = [];
    await expect
      .poll(async () => {
        rows = (await call("GET", `/v1/whatsapp/messages/${session.id}/session?filter[direction]=incoming&limit=50`, { key: account.key })).json.data;
        return rows.map((r) => r.content).sort();
      }, poll)
      .toEqual(["by LID", "by number"]);
    for (const r of rows) expect(r).toMatchObject({ from_number: omar.phone_number, from_lid: omar.lid });
  });

  it("its receipts move a message sent to its number to delivered and read", async () => {
    const account = await createAccount({ balance: 100 });
    const { session } = await linkedSession(account.key);
    const lena = await createPhone(account.key, { name: "Lena", lid_addressed: true, receipt_policy: { delivered: "auto", read: "auto" } });
    // Lena writes first, so the session knows her LID before it answers.
    const hello = await call("POST", `/v1/sandbox/phones/${lena.phone_number}/messages`, { key: account.key, body: { to: session.phone_number, type: "text", text: "hello" } });
    expect(hello.status, hello.text).toBe(201);
    await incoming(account.key, session.id);

    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: [lena.phone_number], type: "text", content: "reply by number" });
    expect(res.status, res.text).toBe(201);
    const id = res.json.data.messages[0].id;
    await expect.poll(async () => (await inbox(account, lena.phone_number)).map((m) => m.text), poll).toContain("reply by number");
    await expect.poll(async () => (await call("GET", `/v1/whatsapp/messages/${id}`, { key: account.key })).json.data?.status, poll).toBe("read");
  });
});

describe("a LID-addressed contact that cannot decrypt", () => {
  it("asks again from its LID, and the session's resend reaches it", async () => {
    const account = await createAccount({ balance: 100 });
    const { session } = await linkedSession(account.key);
    const rita = await createPhone(account.key, { name: "Rita", lid_addressed: true, receipt_policy: { delivered: "manual" } });
    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: [rita.phone_number], type: "text", content: "say it again" });
    expect(res.status, res.text).toBe(201);
    const id = res.json.data.messages[0].id;
    let waId = "";
    await expect.poll(async () => {
      const row = (await call("GET", `/v1/whatsapp/messages/${id}`, { key: account.key })).json.data;
      waId = row.provider_message_id ?? "";
      return row.status;
    }, poll).toBe("sent");
    await expect.poll(async () => (await inbox(account, rita.phone_number)).find((m) => m.id === waId)?.text, poll).toBe("say it again");

    const retry = await call("POST", `/v1/sandbox/phones/${rita.phone_number}/retry-receipts`, { key: account.key, body: { ids: [waId] } });
    expect(retry.status, retry.text).toBe(200);
    expect(retry.json.result.receipts).toEqual([{ id: waId, retry_count: 1, sent: true }]);
    await expect
      .poll(async () => {
        const m = (await inbox(account, rita.phone_number)).find((x) => x.id === waId);
        return m && { awaiting_resend: m.awaiting_resend, text: m.text, resent: m.resent_at !== null };
      }, poll)
      .toEqual({ awaiting_resend: false, text: "say it again", resent: true });
  });
});
