import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { inbox } from "../helpers/bot";
import { send } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";

// GET …/lids/{lid} and GET …/lids?phone_number=: a LID's number as WhatsApp revealed it to the
// session, a number's LID as WhatsApp answers it; and a send by number reaching a LID-addressed contact.

const poll = { timeout: 20_000, interval: 100 };

describe("LID ↔ phone number routes", () => {
  it("resolve a LID-addressed contact both ways once it has written", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const lena = await createPhone(account.key, { name: "Lena", lid_addressed: true });
    const base = `/v1/whatsapp/sessions/${session.id}/lids`;

    // Before Lena writes, the session has never been told her number behind her LID.
    const before = await call("GET", `${base}/${lena.lid}`, { key: account.key });
    expect(before.status, before.text).toBe(404);
    expect(before.json.error.code).toBe("lid_not_found");

    const sent = await call("POST", `/v1/sandbox/phones/${lena.phone_number}/messages`, { key: account.key, body: { to: session.phone_number, type: "text", text: "hello" } });
    expect(sent.status, sent.text).toBe(201);
    await expect.poll(async () => (await call("GET", `${base}/${lena.lid}`, { key: account.key })).status, poll).toBe(200);

    const byLid = await call("GET", `${base}/${lena.lid}`, { key: account.key });
    expect(byLid.json).toEqual({ success: true, lid: lena.lid, phone_number: lena.phone_number });
    const byDigits = await call("GET", `${base}/${lena.lid.split("@")[0]}`, { key: account.key });
    expect(byDigits.json).toEqual({ success: true, lid: lena.lid, phone_number: lena.phone_number });
    const byNumber = await call("GET", `${base}?phone_number=%2B${lena.phone_number}`, { key: account.key });
    expect(byNumber.status, byNumber.text).toBe(200);
    expect(byNumber.json).toEqual({ success: true, phone_number: lena.phone_number, lid: lena.lid });
  });

  it("ask WhatsApp for the LID of a number the session never met, and 404 what nobody knows", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const stranger = await createPhone(account.key, { name: "Stranger" });
    const base = `/v1/whatsapp/sessions/${session.id}/lids`;

    const asked = await call("GET", `${base}?phone_number=${stranger.phone_number}`, { key: account.key });
    expect(asked.status, asked.text).toBe(200);
    expect(asked.json).toEqual({ success: true, phone_number: stranger.phone_number, lid: stranger.lid });
    // Now known: the reverse answers too.
    const back = await call("GET", `${base}/${stranger.lid}`, { key: account.key });
    expect(back.json).toEqual({ success: true, lid: stranger.lid, phone_number: stranger.phone_number });

    const noLid = await call("GET", `${base}/999999999999999@lid`, { key: account.key });
    expect(noLid.status).toBe(404);
    expect(noLid.json.error.code).toBe("lid_not_found");
    const notOnWhatsApp = await call("GET", `${base}?phone_number=14155550199`, { key: account.key });
    expect(notOnWhatsApp.status, notOnWhatsApp.text).toBe(404);
    expect(notOnWhatsApp.json.error.code).toBe("lid_not_found");
  });

  it("refuse bad input with 422 and another account's session with 404", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const base = `/v1/whatsapp/sessions/${session.id}/lids`;
    for (const path of [`${base}/not-a-lid`, `${base}/123@s.whatsapp.net`, base, `${base}?phone_number=abc`]) {
      const res = await call("GET", path, { key: account.key });
      expect(res.status, `${path}: ${res.text}`).toBe(422);
    }
    const other = await createAccount();
    for (const path of [`${base}/123456789012345@lid`, `${base}?phone_number=14155552671`]) {
      const res = await call("GET", path, { key: other.key });
      expect(res.status, `${path}: ${res.text}`).toBe(404);
    }
  });

  it("a send to the phone number of a LID-addressed contact reaches its inbox", async () => {
    const account = await createAccount({ balance: 100 });
    const { session } = await linkedSession(account.key);
    const lena = await createPhone(account.key, { name: "Lena", lid_addressed: true });
    const res = await send(account.key, { whatsapp_session_id: session.id, to_number: [lena.phone_number], type: "text", content: "first contact by number" });
    expect(res.status, res.text).toBe(201);
    await expect.poll(async () => (await inbox(account, lena.phone_number)).map((m) => m.text), poll).toContain("first contact by number");
    const id = res.json.data.messages[0].id;
    await expect.poll(async () => (await call("GET", `/v1/whatsapp/messages/${id}`, { key: account.key })).json.data.status, poll).toMatch(/^(delivered|read)$/);
  });
});
