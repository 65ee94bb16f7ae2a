import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { upsertContacts } from "../../src/db/contacts.repo";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { createSandboxSession } from "../helpers/sessions";

// A person the session first knows only by LID (a LID-addressed message whose number WhatsApp did
// not reveal) is listed by LID; once a fact names both their number and that LID, the list shows
// them once, under the number, with what the LID's row knew. The facts are written as the session
// object writes them (contacts.repo.ts upsertContacts); the list is read through the API.

let account: TestAccount;
let sessionId: string;

beforeAll(async () => {
  account = await createAccount({ plan: "pro" });
  sessionId = (await createSandboxSession(account.key)).session.id;
});

const list = async () => {
  const res = await call("GET", `/v1/whatsapp/sessions/${sessionId}/contacts`, { key: account.key });
  expect(res.status, res.text).toBe(200);
  return res.json.contacts as Record<string, unknown>[];
};

describe("a contact known by LID, then by number", () => {
  const lid = "204813579246801@lid";
  const phone = "15550407788";

  it("lists a LID-only contact with a null number", async () => {
    await upsertContacts(database(env), sessionId, [{ phoneNumber: null, lid, pushName: "Lia" }]);
    expect(await list()).toEqual([expect.objectContaining({ phone_number: null, lid, push_name: "Lia", name: null })]);
  });

  it("folds the LID's row into the number's row once a fact names both", async () => {
    await upsertContacts(database(env), sessionId, [{ phoneNumber: phone, lid, name: "Lia Saved" }]);
    expect(await list()).toEqual([expect.objectContaining({ phone_number: phone, lid, name: "Lia Saved", push_name: "Lia" })]);
  });

  it("folds a later LID-only fact into the number's row, the newer push name winning", async () => {
    await upsertContacts(database(env), sessionId, [{ phoneNumber: null, lid, pushName: "Lia New" }]);
    expect(await list()).toEqual([expect.objectContaining({ phone_number: phone, lid, name: "Lia Saved", push_name: "Lia New" })]);
  });
});
