import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession, numbers } from "../helpers/messages";
import { createPhone } from "../helpers/sessions";

// POST …/contacts/check: the session's Baileys client asks the sandbox (usync contact + lid
// protocols, 50 numbers a query) which numbers are on WhatsApp.

let account: TestAccount;
let other: TestAccount;
let session: { id: string; session_id: string; phone_number: string };
let hana: { phone_number: string; lid: string };

beforeAll(async () => {
  account = await createAccount({ plan: "pro" });
  other = await createAccount({ plan: "pro" });
  session = await connectedSession(account.key);
  hana = await createPhone(account.key, { name: "Hana" });
}, 60_000);

const checkPath = (id = session.id) => `/v1/whatsapp/sessions/${id}/contacts/check`;

describe("checking numbers", () => {
  it("answers each number in the order given: on WhatsApp with its jid and LID, or not", async () => {
    const absent = "+14155550000";
    const res = await call("POST", checkPath(), { key: account.key, body: { phone_numbers: [absent, `+${hana.phone_number}`] } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.results).toEqual([
      { phone_number: "14155550000", on_whatsapp: false, jid: null, lid: null },
      { phone_number: hana.phone_number, on_whatsapp: true, jid: `${hana.phone_number}@s.whatsapp.net`, lid: hana.lid },
    ]);
  });

  it("checks a list of 500 in batches and keeps the order", async () => {
    const list = [...numbers(499), hana.phone_number];
    const res = await call("POST", checkPath(session.session_id), { key: account.key, body: { phone_numbers: list } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.results).toHaveLength(500);
    expect(res.json.results[0]).toEqual({ phone_number: "14155551000", on_whatsapp: false, jid: null, lid: null });
    expect(res.json.results[499]).toMatchObject({ phone_number: hana.phone_number, on_whatsapp: true });
    expect(res.json.results.filter((r: any) => r.on_whatsapp)).toHaveLength(1);
  });
});

describe("refusals", () => {
  it("refuses an invalid number with its index, an empty list and more than 500", async () => {
    const bad = await call("POST", checkPath(), { key: account.key, body: { phone_numbers: ["+14155552671", "12"] } });
    expect(bad.status, bad.text).toBe(422);
    expect(JSON.stringify(bad.json.error.details)).toContain("phone_numbers.1");
    const empty = await call("POST", checkPath(), { key: account.key, body: { phone_numbers: [] } });
    expect(empty.status, empty.text).toBe(422);
    const tooMany = await call("POST", checkPath(), { key: account.key, body: { phone_numbers: numbers(501) } });
    expect(tooMany.status, tooMany.text).toBe(422);
  });

  it("answers 404 to another account's key and for an unknown session", async () => {
    const res = await call("POST", checkPath(), { key: other.key, body: { phone_numbers: [hana.phone_number] } });
    expect(res.status, res.text).toBe(404);
    const unknown = await call("POST", checkPath("00000000-0000-4000-8000-000000000000"), { key: account.key, body: { phone_numbers: [hana.phone_number] } });
    expect(unknown.status, unknown.text).toBe(404);
  });
});
