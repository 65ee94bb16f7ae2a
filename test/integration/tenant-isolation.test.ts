// Issue 9, critical: one account must not be able to write onto Object.prototype of the shared
// isolate (through a query string or a JSON body) and so reach another account's sends and
// events. Every route family gets the prototype keys, in the query and in the body; each is a
// 422, and account B's next send and its webhook event carry nothing of the attacker's.
import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession } from "../helpers/messages";
import { newEndpoint, received, waitFor } from "../helpers/webhook-receiver";

let attacker: TestAccount;
let victim: TestAccount;
let victimSession: { id: string; phone_number: string };
let attackerSessionId: string;
let recipient: string;
const trap = newEndpoint(); // where leaked callbacks would land
const victimHook = newEndpoint();
const PROTO_BEFORE = Object.getOwnPropertyNames(Object.prototype).sort();

beforeAll(async () => {
  attacker = await createAccount({ balance: 1000, message_cost: 1 });
  victim = await createAccount({ balance: 1000, message_cost: 1 });
  victimSession = await connectedSession(victim.key);
  const phone = await call("POST", "/v1/sandbox/phones", { key: victim.key, body: { name: "Recipient" } });
  expect(phone.status, phone.text).toBe(201);
  recipient = phone.json.phone.phone_number;
  const hook = await call("POST", "/v1/whatsapp/webhooks", { key: victim.key, body: { url: victimHook.url, events: ["message.sent", "message.delivered", "message.failed"] } });
  expect(hook.status, hook.text).toBe(201);
  const own = await call("POST", "/v1/whatsapp/sessions", { key: attacker.key, body: { sandbox: true } });
  expect(own.status, own.text).toBe(201);
  attackerSessionId = own.json.session.id;
}, 60_000);

const poison = { callback_url: trap.url, callback_data: "attacker-data" };
// Raw JSON: JSON.stringify of an object literal would drop a "__proto__" key.
const protoJson = `{"__proto__":${JSON.stringify(poison)}}`;
const ctorJson = `{"constructor":{"prototype":${JSON.stringify(poison)}}}`;
const within = (json: string, at: string) => json.replace("{", `{${at},`); // prototype key beside real fields
const sendFields = () => `"whatsapp_session_id":"${attackerSessionId}","to_number":["+14155550100"],"type":"text","content":"hi"`;

const queries = [
  "/v1/whatsapp/messages?__proto__[callback_url]=TRAP&__proto__[callback_data]=x",
  "/v1/whatsapp/messages?constructor[prototype][callback_url]=TRAP",
  "/v1/whatsapp/messages?filter[__proto__][callback_url]=TRAP",
  "/v1/whatsapp/messages?%5F%5Fproto%5F%5F[callback_url]=TRAP",
  "/v1/whatsapp/sessions?__proto__[callback_url]=TRAP",
  "/v1/account?__proto__[callback_url]=TRAP",
  "/v1/keys?prototype[x]=1",
  "/v1/sandbox/phones?__proto__[callback_url]=TRAP",
  "/v1/whatsapp/webhooks?__proto__[callback_url]=TRAP",
  "/v1/whatsapp/sessions/SESSION/bot?__proto__[callback_url]=TRAP",
  "/v1/whatsapp/sessions/SESSION/qr-code?__proto__[callback_url]=TRAP",
  "/v1/whatsapp/sessions/SESSION/lids?phone_number=14155552671&__proto__[callback_url]=TRAP",
];

const bodies: [string, string, (s: string) => string][] = [
  ["POST", "/v1/whatsapp/messages", () => within(`{${sendFields()}}`, `"__proto__":${JSON.stringify(poison)}`)],
  ["POST", "/v1/whatsapp/messages", () => `{${sendFields()},"metadata":${protoJson},"payload":${ctorJson}}`],
  ["POST", "/v1/whatsapp/messages", () => `{${sendFields()},"type":"location","location":{"latitude":1,"longitude":2,"__proto__":${JSON.stringify(poison)}}}`],
  ["POST", "/v1/whatsapp/messages", () => `{${sendFields()},"type":"contacts","contacts":[{"name":{"formatted_name":"A","__proto__":{"x":1}},"constructor":{"prototype":{"x":1}}}]}`],
  ["POST", "/v1/whatsapp/messages/batch", () => `{"messages":[${within(`{${sendFields()}}`, `"__proto__":${JSON.stringify(poison)}`)}]}`],
  ["POST", "/v1/whatsapp/webhooks", () => `{"url":"https://example.com/h","headers":${protoJson}}`],
  ["POST", "/v1/whatsapp/webhooks", () => `{"url":"https://example.com/h","headers":{"constructor":"x","prototype":"y"}}`],
  ["PUT", "/v1/whatsapp/sessions/SESSION/bot", () => `{"enabled":true,"default_message":"[name]","placeholders":${protoJson},"keywords":[{"match":"exact","pattern":"a","reply":"b","__proto__":${JSON.stringify(poison)}}]}`],
  ["POST", "/v1/whatsapp/sessions", () => within(`{"sandbox":true}`, `"__proto__":${JSON.stringify(poison)}`)],
  ["PATCH", "/v1/whatsapp/sessions/SESSION/disconnect", () => protoJson],
  ["POST", "/v1/keys", () => within(`{"name":"k"}`, `"constructor":{"prototype":${JSON.stringify(poison)}}`)],
  ["POST", "/v1/sandbox/phones", () => within(`{"name":"p"}`, `"__proto__":${JSON.stringify(poison)}`)],
  ["POST", "/v1/sandbox/phones/15550009001/messages", () => `{"to":"15550009002","type":"text","text":"x","__proto__":${JSON.stringify(poison)}}`],
  ["POST", "/v1/sandbox/groups", () => `{"owner":"15550009001","subject":"s","members":["15550009002"],"constructor":{"prototype":{"x":1}}}`],
  ["PUT", "/v1/sandbox/phones/15550009001/receipt-policy", () => protoJson],
  ["POST", "/v1/sandbox/sessions/SESSION/faults", () => protoJson],
];

describe("prototype keys from one account", () => {
  it("are refused with 422 naming the key, in the query of every route family", async () => {
    for (const template of queries) {
      const path = template.replace("TRAP", encodeURIComponent(trap.url)).replace("SESSION", attackerSessionId);
      const res = await call("GET", path, { key: attacker.key });
      expect(res.status, path).toBe(422);
      expect(res.json.success, path).toBe(false);
      expect(res.json.error.details[0], path).toMatchObject({ in: "query", code: "forbidden_key", message: expect.stringMatching(/__proto__|constructor|prototype/) });
    }
  });

  it("are refused with 422 naming the JSON path, in the body of every route family (also with an Idempotency-Key)", async () => {
    for (const [method, template, body] of bodies) {
      const path = template.replace("SESSION", attackerSessionId);
      // Action POSTs refuse the header itself (400) before reading the body.
      const refusesKey = template.endsWith("/faults");
      const variants: Record<string, string>[] = refusesKey ? [{}] : [{}, { "Idempotency-Key": `proto-${crypto.randomUUID()}` }];
      for (const headers of variants) {
        const res = await call(method, path, { key: attacker.key, rawBody: body(attackerSessionId), headers: { "Content-Type": "application/json", ...headers } });
        expect(res.status, `${method} ${path} ${res.text}`).toBe(422);
        expect(res.json.error.details[0], path).toMatchObject({ in: "body", code: "forbidden_key", field: expect.stringMatching(/(^|\.)(__proto__|constructor|prototype)$/) });
      }
    }
  });

  it("leave Object.prototype as it was", () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_BEFORE);
    const probe: Record<string, unknown> = {};
    expect(probe.callback_url).toBeUndefined();
    expect(probe.callback_data).toBeUndefined();
    expect(probe.x).toBeUndefined();
  });

  it("leave another account's next send and its event untouched", async () => {
    const sent = await call("POST", "/v1/whatsapp/messages", {
      key: victim.key,
      body: { whatsapp_session_id: victimSession.id, to_number: [recipient], type: "text", content: "your code is 123456" },
    });
    expect(sent.status, sent.text).toBe(201);
    const message = sent.json.data.messages[0];
    expect(message.callback_url).toBeNull();
    expect(message.callback_data).toBeNull();
    const stored = await call("GET", `/v1/whatsapp/messages/${message.id}`, { key: victim.key });
    expect(stored.json.data).toMatchObject({ callback_url: null, callback_data: null });

    const event = await waitFor("the victim's message event", async () => {
      const got = await received(victimHook.key);
      return got.find((r) => r.body.includes(message.id));
    });
    expect(event.body).not.toContain("attacker");
    expect(event.body).not.toContain(trap.key);
    // The event went out, and the message's own callback (none) with it: the trap got nothing.
    expect(await received(trap.key)).toEqual([]);
  });
});
