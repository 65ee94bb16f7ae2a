import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession } from "../helpers/messages";
import { createPhone, createSandboxSession, waitForSession } from "../helpers/sessions";
import { poll } from "../helpers/sandbox-client";
import { TripLog, countedD1, countedNamespace } from "../helpers/trips";

// The contacts the gateway stores (D1) from what Baileys learns: names saved through
// PUT …/contacts/{phone_number} (an app-state contact mutation the phone decrypts), names the
// phone saves (its own contact mutations), history sync's chats (the phone's address book
// names) and push names on incoming messages.

let account: TestAccount;
let other: TestAccount;
let session: { id: string; session_id: string; phone_number: string };
let hana: { phone_number: string; lid: string };
let ivo: { phone_number: string; lid: string };

beforeAll(async () => {
  account = await createAccount({ plan: "pro" });
  other = await createAccount({ plan: "pro" });
  session = await connectedSession(account.key);
  hana = await createPhone(account.key, { name: "Hana" });
  ivo = await createPhone(account.key, { name: "Ivo Push" });
}, 60_000);

const base = (id = session.id) => `/v1/whatsapp/sessions/${id}`;
const list = async (query = "", id = session.id, key = account.key) => call("GET", `${base(id)}/contacts${query}`, { key });
const byNumber = async (phone: string) => ((await list()).json.contacts as any[]).find((c) => c.phone_number === phone);

describe("saving a name", () => {
  it("saves through app state (the phone decrypts the contact mutation) and lists the name", async () => {
    const res = await call("PUT", `${base()}/contacts/+${hana.phone_number}`, { key: account.key, body: { name: "Hana Sato" } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.contact).toEqual({ phone_number: hana.phone_number, lid: hana.lid, name: "Hana Sato" });

    // The phone's own view of its app state has the name, under the number's jid.
    await expect
      .poll(async () => (await call("GET", `/v1/sandbox/phones/${session.phone_number}/app-state`, { key: account.key })).json.app_state?.contacts, poll)
      .toContainEqual({ jid: `${hana.phone_number}@s.whatsapp.net`, full_name: "Hana Sato", first_name: "Hana" });

    expect(await byNumber(hana.phone_number)).toMatchObject({ phone_number: hana.phone_number, lid: hana.lid, name: "Hana Sato" });
  });

  it("refuses an empty name and a number not on WhatsApp, storing nothing", async () => {
    const empty = await call("PUT", `${base()}/contacts/${ivo.phone_number}`, { key: account.key, body: { name: "  " } });
    expect(empty.status, empty.text).toBe(422);
    const absent = await call("PUT", `${base()}/contacts/+14155550000`, { key: account.key, body: { name: "Nobody" } });
    expect(absent.status, absent.text).toBe(404);
    expect(absent.json.error.code).toBe("contact_not_found");
    expect(await byNumber("14155550000")).toBeUndefined();
  });
});

describe("what the session learns", () => {
  it("stores the push name of someone who writes", async () => {
    const sent = await call("POST", `/v1/sandbox/phones/${ivo.phone_number}/messages`, { key: account.key, body: { to: session.phone_number, type: "text", text: "hi" } });
    expect(sent.status, sent.text).toBe(201);
    await expect.poll(() => byNumber(ivo.phone_number), poll).toMatchObject({ phone_number: ivo.phone_number, push_name: "Ivo Push", name: null });
  });

  it("learns a name the phone saves while linked (its app-state contact mutation)", async () => {
    const saved = await call("PUT", `/v1/sandbox/phones/${session.phone_number}/contacts/${ivo.phone_number}`, { key: account.key, body: { name: "Ivo From Phone" } });
    expect(saved.status, saved.text).toBe(200);
    await expect.poll(() => byNumber(ivo.phone_number), poll).toMatchObject({ phone_number: ivo.phone_number, lid: ivo.lid, name: "Ivo From Phone", push_name: "Ivo Push" });
  });

  it("learns the phone's address book names from history sync at linking", async () => {
    const phone = await createPhone(account.key, { name: "Owner" });
    const friend = await createPhone(account.key, { name: "Friend Push" });
    const saved = await call("PUT", `/v1/sandbox/phones/${phone.phone_number}/contacts/${friend.phone_number}`, { key: account.key, body: { name: "Best Friend" } });
    expect(saved.status, saved.text).toBe(200);
    expect((await call("POST", `/v1/sandbox/phones/${friend.phone_number}/messages`, { key: account.key, body: { to: phone.phone_number, type: "text", text: "before linking" } })).status).toBe(201);

    const { session: fresh } = await createSandboxSession(account.key);
    const scan = await call("POST", `/v1/sandbox/sessions/${fresh.id}/scan`, { key: account.key, body: { phone_number: phone.phone_number } });
    expect(scan.status, scan.text).toBe(200);
    await waitForSession(account.key, fresh.id, (s) => s.status === "connected");

    await expect
      .poll(async () => ((await list("", fresh.id)).json.contacts as any[]).find((c) => c.phone_number === friend.phone_number), poll)
      .toMatchObject({ name: "Best Friend", push_name: "Friend Push" });
    // History sync's push names include the account's own; it is not one of its contacts. Nor is a
    // sandbox phone this one never met (push names come only for people it has chats with).
    const listed = ((await list("", fresh.id)).json.contacts as any[]).map((c) => c.phone_number);
    expect(listed).not.toContain(phone.phone_number);
    expect(listed).not.toContain(hana.phone_number);
  });
});

describe("listing", () => {
  it("pages with a cursor and filters by search, in one D1 query after auth", async () => {
    const all = (await list()).json.contacts as any[];
    expect(all.length).toBeGreaterThanOrEqual(2);
    const first = await list("?limit=1");
    expect(first.status, first.text).toBe(200);
    expect(first.json.contacts).toHaveLength(1);
    expect(first.json.next_cursor).toEqual(expect.any(String));
    const second = await list(`?limit=1&cursor=${first.json.next_cursor}`);
    expect(second.json.contacts[0].phone_number).toBe(all[1].phone_number);

    const found = await list("?search=sato");
    expect(found.json.contacts.map((c: any) => c.phone_number)).toEqual([hana.phone_number]);
    const none = await list("?search=100%25_");
    expect(none.json).toEqual({ success: true, contacts: [], next_cursor: null });
  });

  it("reads D1 once after auth and never asks the session's object", async () => {
    const log = new TripLog();
    const countedEnv = { ...env, DB: countedD1(log, env.DB), SESSION: countedNamespace(log, env.SESSION, "session") } as Env;
    const listOnce = async () => {
      log.reset();
      const ctx = createExecutionContext();
      const request = new Request(`http://gateway.test${base()}/contacts?limit=5`, { headers: { Authorization: `Bearer ${account.key}` } }) as Request<unknown, IncomingRequestCfProperties>;
      const response = await worker.fetch(request, countedEnv, ctx);
      expect(response.status).toBe(200);
      await waitOnExecutionContext(ctx);
    };
    await listOnce();
    // Besides auth (the key's read and last-use touch): one read, of sessions joined to contacts.
    const reads = log.trips.filter((t) => !t.what.startsWith("d1.run") && !/from "api_keys"/.test(t.sql ?? ""));
    expect(reads.map((t) => t.what.split(/[ (]/)[0]), log.describe()).toEqual(["d1.raw"]);
    expect(reads[0].sql).toMatch(/from "sessions" left join "contacts"/);
  });

  it("refuses a cursor it did not make, and answers 404 for another account's key or an unknown session", async () => {
    expect((await list("?cursor=nonsense")).status).toBe(422);
    expect((await list("", session.id, other.key)).status).toBe(404);
    expect((await list("", "00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await call("PUT", `${base()}/contacts/${hana.phone_number}`, { key: other.key, body: { name: "X" } })).status).toBe(404);
    // An empty list is still the session's: 200.
    const { session: idle } = await createSandboxSession(account.key);
    expect((await list("", idle.id)).json).toEqual({ success: true, contacts: [], next_cursor: null });
  });
});
