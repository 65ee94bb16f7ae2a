import { runInDurableObject } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession, send } from "../helpers/messages";
import { linkByQr, poll, sessionOf, type Client } from "../helpers/sandbox-client";
import { createPhone } from "../helpers/sessions";

// Blocking through the session (Baileys updateBlockStatus / fetchBlocklist against the sandbox's
// blocklist iqs): the server keeps the list, the account's other linked device hears of it
// (account_sync notification → blocklist.update), and a blocked number's messages are not delivered.

let account: TestAccount;
let other: TestAccount;
let session: { id: string; session_id: string; phone_number: string };
let hana: { phone_number: string; lid: string };
let ivo: { phone_number: string; lid: string };
let secondDevice: Client;

beforeAll(async () => {
  account = await createAccount({ plan: "pro", balance: 1000 });
  other = await createAccount({ plan: "pro" });
  session = await connectedSession(account.key);
  hana = await createPhone(account.key, { name: "Hana" });
  ivo = await createPhone(account.key, { name: "Ivo" });
}, 60_000);

afterAll(async () => {
  if (secondDevice) await runInDurableObject(sessionOf("contacts-block-second-device"), () => secondDevice.host.stop());
});

const base = (id = session.id) => `/v1/whatsapp/sessions/${id}`;
const blockPath = (phone: string, id = session.id) => `${base(id)}/contacts/${phone}/block`;
const blocklistUpdates = () => secondDevice.batches.flatMap((b) => b["blocklist.update"] ?? []);

async function incomingTexts(): Promise<string[]> {
  const res = await call("GET", `/v1/whatsapp/messages/${session.id}/session?filter[direction]=incoming&limit=50`, { key: account.key });
  return (res.json.data as { content: string }[]).map((m) => m.content);
}

describe("blocking", () => {
  it("blocks a number: the server's list has it, the blocklist route shows it, the other device hears of it", async () => {
    // A second linked device of the session's account (a real Baileys client).
    secondDevice = await runInDurableObject(sessionOf("contacts-block-second-device"), (_i, state) => linkByQr(state.storage, account.id, "contacts-block-second-device", session.phone_number));
    const res = await call("POST", blockPath(`+${hana.phone_number}`), { key: account.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.contact).toEqual({ phone_number: hana.phone_number, lid: hana.lid, blocked: true });

    const server = await call("GET", `/v1/sandbox/phones/${session.phone_number}/blocklist`, { key: account.key });
    expect(server.json.blocklist.blocked).toEqual([{ phone_number: hana.phone_number, lid: hana.lid }]);

    const list = await call("GET", `${base(session.session_id)}/blocklist`, { key: account.key });
    expect(list.status, list.text).toBe(200);
    expect(list.json.blocked).toEqual([{ phone_number: hana.phone_number, lid: hana.lid }]);

    await expect.poll(blocklistUpdates, poll).toContainEqual({ blocklist: [hana.lid], type: "add" });
  });

  it("does not deliver a blocked number's messages; after unblocking they arrive again", async () => {
    const whileBlocked = await call("POST", `/v1/sandbox/phones/${hana.phone_number}/messages`, { key: account.key, body: { to: session.phone_number, type: "text", text: "are you there?" } });
    expect(whileBlocked.status, whileBlocked.text).toBe(201);
    // The server took it (one tick for Hana) and delivered it to none of the session's devices.
    expect(whileBlocked.json.message.delivered_to_devices).toBe(0);

    const unblock = await call("DELETE", blockPath(hana.phone_number), { key: account.key });
    expect(unblock.status, unblock.text).toBe(200);
    expect(unblock.json.contact).toEqual({ phone_number: hana.phone_number, lid: hana.lid, blocked: false });
    await expect.poll(blocklistUpdates, poll).toContainEqual({ blocklist: [hana.lid], type: "remove" });
    expect((await call("GET", `${base()}/blocklist`, { key: account.key })).json.blocked).toEqual([]);

    const after = await call("POST", `/v1/sandbox/phones/${hana.phone_number}/messages`, { key: account.key, body: { to: session.phone_number, type: "text", text: "hello again" } });
    expect(after.json.message.delivered_to_devices).toBeGreaterThan(0);
    await expect.poll(incomingTexts, poll).toContain("hello again");
    expect(await incomingTexts()).not.toContain("are you there?");
  });

  it("keeps several blocked numbers, in the order blocked", async () => {
    for (const p of [ivo, hana]) expect((await call("POST", blockPath(p.phone_number), { key: account.key })).status).toBe(200);
    const list = await call("GET", `${base()}/blocklist`, { key: account.key });
    expect(list.json.blocked).toEqual([
      { phone_number: ivo.phone_number, lid: ivo.lid },
      { phone_number: hana.phone_number, lid: hana.lid },
    ]);
  });
});

describe("blocked by the other side", () => {
  const messageOf = async (id: string) => (await call("GET", `/v1/whatsapp/messages/${id}`, { key: account.key })).json.data;
  const sendText = async (to: string, content: string) => {
    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: [to], type: "text", content });
    expect(res.status, res.text).toBe(201);
    return res.json.data.messages[0].id as string;
  };

  it("a phone that blocked the session gets none of its messages until it unblocks", async () => {
    const ana = await createPhone(account.key, { name: "Ana" });
    const blocked = await call("PUT", `/v1/sandbox/phones/${ana.phone_number}/blocklist/${session.phone_number}`, { key: account.key });
    expect(blocked.status, blocked.text).toBe(200);
    expect(blocked.json.blocklist.blocked).toEqual([{ phone_number: session.phone_number, lid: expect.stringMatching(/^\d+@lid$/) }]);

    const first = await sendText(ana.phone_number, "while blocked");
    await expect.poll(async () => (await messageOf(first))?.status, poll).toBe("sent");

    const unblocked = await call("DELETE", `/v1/sandbox/phones/${ana.phone_number}/blocklist/${session.phone_number}`, { key: account.key });
    expect(unblocked.json.blocklist.blocked).toEqual([]);
    const second = await sendText(ana.phone_number, "after unblocking");
    await expect.poll(async () => (await messageOf(second))?.status, poll).toBe("delivered");

    // The later message was delivered; the earlier one never was, and the phone never had it.
    expect((await messageOf(first)).status).toBe("sent");
    const inbox = (await call("GET", `/v1/sandbox/phones/${ana.phone_number}/inbox`, { key: account.key })).json.messages as { text: string | null }[];
    expect(inbox.map((m) => m.text)).toEqual(["after unblocking"]);
  });
});

describe("refusals", () => {
  it("answers 404 contact_not_found for a number not on WhatsApp, nothing blocked", async () => {
    const res = await call("POST", blockPath("+14155550000"), { key: account.key });
    expect(res.status, res.text).toBe(404);
    expect(res.json.error.code).toBe("contact_not_found");
  });

  it("answers 404 to another account's key on every route", async () => {
    for (const [method, path] of [["POST", blockPath(hana.phone_number)], ["DELETE", blockPath(hana.phone_number)], ["GET", `${base()}/blocklist`]] as const) {
      const res = await call(method, path, { key: other.key });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
    }
  });
});
