import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession } from "../helpers/messages";
import { createPhone } from "../helpers/sessions";

// The session's privacy settings through the API: the real Baileys client sends the privacy iqs to
// the sandbox, whose record of the phone (GET /v1/sandbox/phones/{phone}/profile) holds each value;
// a change made on the phone (the driver) shows in the next read, as does its status audience.

let account: TestAccount;
let gus: { id: string; phone_number: string };
let hana: string;
let ivo: string;

beforeAll(async () => {
  account = await createAccount({ plan: "pro" });
  gus = await connectedSession(account.key);
  hana = (await createPhone(account.key, { name: "Hana" })).phone_number;
  ivo = (await createPhone(account.key, { name: "Ivo" })).phone_number;
}, 60_000);

const privacyPath = () => `/v1/whatsapp/sessions/${gus.id}/privacy`;
const statusPrivacyPath = () => `/v1/whatsapp/sessions/${gus.id}/status-privacy`;
const read = async () => {
  const res = await call("GET", privacyPath(), { key: account.key });
  expect(res.status, res.text).toBe(200);
  return res.json.privacy;
};
const heldBySandbox = async () => {
  const res = await call("GET", `/v1/sandbox/phones/${gus.phone_number}/profile`, { key: account.key });
  expect(res.status, res.text).toBe(200);
  return res.json.profile;
};
const phoneSets = async (body: Record<string, unknown>) => {
  const res = await call("PATCH", `/v1/sandbox/phones/${gus.phone_number}/privacy`, { key: account.key, body });
  expect(res.status, res.text).toBe(200);
  return res.json.profile;
};

const DEFAULTS = { last_seen: "all", online: "all", profile_picture: "all", about: "all", read_receipts: "all", groups_add: "all", calls: "all", messages: "all" };

describe("privacy settings", () => {
  it("reads a new account's settings: everyone, everywhere", async () => {
    expect(await read()).toEqual(DEFAULTS);
    expect((await heldBySandbox()).privacy).toEqual(DEFAULTS);
  });

  it("changes every setting; the server holds each, and the answer is the settings after", async () => {
    const changes = { last_seen: "contacts", online: "match_last_seen", profile_picture: "contact_blacklist", about: "none", read_receipts: "none", groups_add: "contacts", calls: "known", messages: "contacts" };
    const res = await call("PATCH", privacyPath(), { key: account.key, body: changes });
    expect(res.status, res.text).toBe(200);
    expect(res.json.privacy).toEqual(changes);
    expect((await heldBySandbox()).privacy).toEqual(changes);
    expect(await read()).toEqual(changes);
  });

  it("changes one setting and leaves the others", async () => {
    const before = await read();
    const res = await call("PATCH", privacyPath(), { key: account.key, body: { read_receipts: "all" } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.privacy).toEqual({ ...before, read_receipts: "all" });
    expect((await heldBySandbox()).privacy.read_receipts).toBe("all");
  });

  it("refuses a value a setting does not take with 422, nothing changed", async () => {
    const before = await read();
    for (const body of [{ online: "contacts" }, { read_receipts: "contacts" }, { calls: "none" }, { last_seen: "match_last_seen" }, { last_seen: "all", messages: "none" }, { nonsense: "all" }, {}]) {
      const res = await call("PATCH", privacyPath(), { key: account.key, body });
      expect(res.status, `${JSON.stringify(body)}: ${res.text}`).toBe(422);
    }
    expect(await read()).toEqual(before);
  });

  it("shows a change made on the phone", async () => {
    const held = await phoneSets({ last_seen: "contact_blacklist", except: { last_seen: [hana] }, groups_add: "none" });
    expect(held.privacy).toMatchObject({ last_seen: "contact_blacklist", groups_add: "none" });
    expect(held.except.last_seen).toEqual([hana]);
    expect(await read()).toMatchObject({ last_seen: "contact_blacklist", groups_add: "none" });
  });
});

describe("status privacy", () => {
  it("is all contacts until the phone chooses otherwise", async () => {
    const res = await call("GET", statusPrivacyPath(), { key: account.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.status_privacy).toEqual({ type: "contacts", contacts: [] });
  });

  it("shows the phone's \"only share with\" list", async () => {
    await phoneSets({ status_privacy: { type: "whitelist", contacts: [ivo, hana] } });
    const res = await call("GET", statusPrivacyPath(), { key: account.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.status_privacy).toEqual({ type: "whitelist", contacts: [hana, ivo].sort() });
  });

  it("shows the \"my contacts except\" list once the phone switches, keeping both lists", async () => {
    await phoneSets({ status_privacy: { type: "blacklist", contacts: [ivo] } });
    expect((await call("GET", statusPrivacyPath(), { key: account.key })).json.status_privacy).toEqual({ type: "blacklist", contacts: [ivo] });
    // Back to the whitelist without naming it again: the phone kept it.
    const held = await phoneSets({ status_privacy: { type: "whitelist" } });
    expect(held.status_privacy).toEqual({ type: "whitelist", contacts: [hana, ivo].sort() });
  });
});

describe("refusals", () => {
  it("answers 404 for another account's session", async () => {
    const other = await createAccount({ plan: "pro" });
    expect((await call("GET", privacyPath(), { key: other.key })).status).toBe(404);
    expect((await call("PATCH", privacyPath(), { key: other.key, body: { last_seen: "none" } })).status).toBe(404);
    expect((await call("GET", statusPrivacyPath(), { key: other.key })).status).toBe(404);
    expect((await call("GET", `/v1/sandbox/phones/${gus.phone_number}/profile`, { key: other.key })).status).toBe(404);
    expect((await call("PATCH", `/v1/sandbox/phones/${gus.phone_number}/privacy`, { key: other.key, body: { last_seen: "none" } })).status).toBe(404);
    expect((await heldBySandbox()).privacy.last_seen).not.toBe("none");
  });

  it("refuses an invalid phone-side value with 422", async () => {
    const res = await call("PATCH", `/v1/sandbox/phones/${gus.phone_number}/privacy`, { key: account.key, body: { online: "none" } });
    expect(res.status, res.text).toBe(422);
  });
});
