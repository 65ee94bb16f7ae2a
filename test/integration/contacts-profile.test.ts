import { Buffer } from "node:buffer";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession } from "../helpers/messages";
import { createPhone } from "../helpers/sessions";

// GET …/contacts/{phone_number}: the session's Baileys client reads another phone's about text
// (usync status), picture (w:profile:picture) and business profile (w:biz) from the sandbox,
// which follows the phone's privacy settings and blocklist.

let account: TestAccount;
let other: TestAccount;
let session: { id: string; session_id: string; phone_number: string };
let hana: { phone_number: string; lid: string };
let ivo: { phone_number: string; lid: string };
const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from("sandbox profile picture"), Buffer.from([0xff, 0xd9])]);

beforeAll(async () => {
  account = await createAccount({ plan: "pro" });
  other = await createAccount({ plan: "pro" });
  session = await connectedSession(account.key);
  hana = await createPhone(account.key, { name: "Hana" });
  ivo = await createPhone(account.key, { name: "Ivo" });
  const set = await call("PATCH", `/v1/sandbox/phones/${hana.phone_number}/profile`, {
    key: account.key,
    body: { about: "Baking bread", picture: jpeg.toString("base64"), business: true, business_description: "Fresh every morning" },
  });
  if (set.status !== 200) throw new Error(`profile: ${set.status} ${set.text}`);
}, 60_000);

const contactPath = (phone: string, id = session.id) => `/v1/whatsapp/sessions/${id}/contacts/${phone}`;

describe("reading a contact", () => {
  it("answers the about text, a picture URL serving the picture, and the business profile", async () => {
    const before = Date.now();
    const res = await call("GET", contactPath(`+${hana.phone_number}`), { key: account.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.contact).toEqual({
      phone_number: hana.phone_number,
      lid: hana.lid,
      on_whatsapp: true,
      name: null,
      push_name: null,
      about: "Baking bread",
      about_set_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      picture_url: expect.stringMatching(/^https:\/\//),
      business: true,
      business_description: "Fresh every morning",
    });
    expect(Date.parse(res.json.contact.about_set_at)).toBeLessThanOrEqual(before);
    const picture = await fetch(res.json.contact.picture_url);
    expect(picture.status).toBe(200);
    expect(Buffer.from(await picture.arrayBuffer()).equals(jpeg)).toBe(true);
  });

  it("answers null about and picture, and no business, for a phone that set none", async () => {
    const res = await call("GET", contactPath(ivo.phone_number, session.session_id), { key: account.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.contact).toMatchObject({ phone_number: ivo.phone_number, lid: ivo.lid, about: null, about_set_at: null, picture_url: null, business: false, business_description: null });
  });

  it("follows the phone's privacy: hidden from non-contacts under 'my contacts', shown once it saves the session's number", async () => {
    const set = await call("PATCH", `/v1/sandbox/phones/${ivo.phone_number}/profile`, { key: account.key, body: { about: "Only friends", picture: jpeg.toString("base64") } });
    expect(set.status, set.text).toBe(200);
    const privacy = await call("PATCH", `/v1/sandbox/phones/${ivo.phone_number}/privacy`, { key: account.key, body: { profile_picture: "contacts", about: "contacts" } });
    expect(privacy.status, privacy.text).toBe(200);

    const hidden = await call("GET", contactPath(ivo.phone_number), { key: account.key });
    expect(hidden.status, hidden.text).toBe(200);
    expect(hidden.json.contact).toMatchObject({ about: null, picture_url: null });

    const saved = await call("PUT", `/v1/sandbox/phones/${ivo.phone_number}/contacts/${session.phone_number}`, { key: account.key, body: { name: "Session" } });
    expect(saved.status, saved.text).toBe(200);
    const shown = await call("GET", contactPath(ivo.phone_number), { key: account.key });
    expect(shown.json.contact).toMatchObject({ about: "Only friends", picture_url: expect.stringMatching(/^https:\/\//) });
  });
});

describe("refusals", () => {
  it("answers 404 contact_not_found for a number not on WhatsApp", async () => {
    const res = await call("GET", contactPath("+14155550000"), { key: account.key });
    expect(res.status, res.text).toBe(404);
    expect(res.json.error.code).toBe("contact_not_found");
  });

  it("refuses a number that is not one (422), and another account's key (404)", async () => {
    const bad = await call("GET", contactPath("12"), { key: account.key });
    expect(bad.status, bad.text).toBe(422);
    const foreign = await call("GET", contactPath(hana.phone_number), { key: other.key });
    expect(foreign.status, foreign.text).toBe(404);
    expect(foreign.json.error.code).not.toBe("contact_not_found");
  });
});
