import { beforeAll, describe, expect, inject, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession } from "../helpers/messages";

// The session's own profile through the API: the real Baileys client sends the about text, push
// name (app state) and picture iqs to the sandbox, whose record of the phone
// (GET /v1/sandbox/phones/{phone}/profile) shows each change.

let account: TestAccount;
let gus: { id: string; phone_number: string };

beforeAll(async () => {
  account = await createAccount({ plan: "pro" });
  gus = await connectedSession(account.key);
}, 60_000);

const profilePath = () => `/v1/whatsapp/sessions/${gus.id}/profile`;
const media = (path: string) => `${inject("mediaServerUrl")}${path}`;
const heldBySandbox = async () => {
  const res = await call("GET", `/v1/sandbox/phones/${gus.phone_number}/profile`, { key: account.key });
  expect(res.status, res.text).toBe(200);
  return res.json.profile;
};
const sha256 = async (bytes: ArrayBuffer) => [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");

describe("the session's profile", () => {
  it("reads the push name, number, and no about text or picture on a new account", async () => {
    const res = await call("GET", profilePath(), { key: account.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.profile).toEqual({ name: expect.any(String), about: null, picture_url: null, phone_number: gus.phone_number });
  });

  it("sets the about text and push name; the server holds the text, the phone sees the name, the session's display name follows", async () => {
    const res = await call("PATCH", profilePath(), { key: account.key, body: { name: "Gus at Acme", about: "Replies within the hour" } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.profile).toMatchObject({ name: "Gus at Acme", about: "Replies within the hour", phone_number: gus.phone_number });
    // The name travels as an app-state patch the phone decrypts.
    expect(await heldBySandbox()).toMatchObject({ name: "Gus at Acme", about: "Replies within the hour", about_set_at: expect.any(String) });
    expect((await call("GET", profilePath(), { key: account.key })).json.profile).toMatchObject({ name: "Gus at Acme", about: "Replies within the hour" });
    await expect.poll(async () => (await call("GET", `/v1/whatsapp/sessions/${gus.id}`, { key: account.key })).json.session.display_name, { timeout: 10_000 }).toBe("Gus at Acme");
    // Others see it too: the device announces it on its presence, and the server's record of the
    // account (the `notify` on what it sends) follows.
    await expect.poll(async () => (await call("GET", "/v1/sandbox/phones", { key: account.key })).json.phones.find((p: { phone_number: string }) => p.phone_number === gus.phone_number)?.name, { timeout: 10_000 }).toBe("Gus at Acme");
  });

  it("sets the picture from picture_url: the server stores the JPEG as fetched and serves it back", async () => {
    const jpeg = await (await fetch(media("/jpeg"))).arrayBuffer();
    const res = await call("PATCH", profilePath(), { key: account.key, body: { picture_url: media("/jpeg") } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.profile.picture_url).toMatch(/^https:\/\//);
    const held = await heldBySandbox();
    expect(held.picture).toMatchObject({ id: expect.stringMatching(/^\d+$/), size: jpeg.byteLength, sha256: await sha256(jpeg) });
    expect(held.picture_id).toBe(held.picture.id);
  });

  it("removes the picture with picture_url null", async () => {
    const res = await call("PATCH", profilePath(), { key: account.key, body: { picture_url: null } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.profile.picture_url).toBeNull();
    expect((await heldBySandbox()).picture).toBeNull();
  });

  it("clears the about text with an empty string", async () => {
    const res = await call("PATCH", profilePath(), { key: account.key, body: { about: "" } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.profile.about).toBeNull();
    expect((await heldBySandbox()).about).toBe("");
  });
});

describe("refusals", () => {
  it("refuses a picture_url that is not a reachable JPEG before changing anything", async () => {
    for (const path of ["/png", "/missing"]) {
      const res = await call("PATCH", profilePath(), { key: account.key, body: { about: "Should not be set", picture_url: media(path) } });
      expect(res.status, res.text).toBe(422);
    }
    expect((await heldBySandbox()).about).not.toBe("Should not be set");
  });

  it("names the fields already changed when a later one is refused", async () => {
    // The sandbox takes pictures up to 1 MB (docs/protocol/privacy.md) and answers a bigger one 406,
    // after the name and about text (sent first) are already changed.
    const before = await heldBySandbox();
    const res = await call("PATCH", profilePath(), { key: account.key, body: { name: "Gus half done", about: "Half done", picture_url: media(`/jpeg?pad=${1024 * 1024}`) } });
    expect(res.status, res.text).toBe(502);
    expect(res.json.error).toMatchObject({ code: "whatsapp_error", details: { whatsapp_code: 406, applied: ["name", "about"] } });
    const held = await heldBySandbox();
    expect(held).toMatchObject({ name: "Gus half done", about: "Half done" });
    expect(held.picture).toEqual(before.picture);
  });

  it("refuses invalid fields with 422", async () => {
    for (const body of [{}, { picture_url: "ftp://example.com/a.jpg" }, { name: "" }, { name: "x".repeat(26) }, { about: "x".repeat(140) }, { about: "two\nlines" }]) {
      const res = await call("PATCH", profilePath(), { key: account.key, body });
      expect(res.status, `${JSON.stringify(body)}: ${res.text}`).toBe(422);
    }
  });

  it("answers 404 for another account's session", async () => {
    const other = await createAccount({ plan: "pro" });
    expect((await call("GET", profilePath(), { key: other.key })).status).toBe(404);
    expect((await call("PATCH", profilePath(), { key: other.key, body: { about: "hijack" } })).status).toBe(404);
  });
});
