import { inject } from "vitest";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { send } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";

// Every message type, sent through the API and the real client, arrives decrypted in the
// contact's inbox with the right content; media is compared by SHA-256 with the served file.

const media = (path: string) => `${inject("mediaServerUrl")}${path}`;

async function sha256Of(url: string): Promise<string> {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function deliveredItem(key: string, phone: string, messageId: string) {
  let providerId: string | undefined;
  await expect
    .poll(
      async () => {
        const m = (await call("GET", `/v1/whatsapp/messages/${messageId}`, { key })).json.data;
        if (m.status === "failed") throw new Error(`message failed: ${m.reason}`);
        providerId = m.provider_message_id ?? undefined;
        return ["sent", "delivered", "read"].includes(m.status);
      },
      { timeout: 20_000, interval: 100 },
    )
    .toBe(true);
  let item: any;
  await expect
    .poll(
      async () => {
        const inbox = (await call("GET", `/v1/sandbox/phones/${phone}/inbox`, { key })).json.messages;
        item = inbox.find((m: any) => m.id === providerId);
        return Boolean(item);
      },
      { timeout: 10_000 },
    )
    .toBe(true);
  return item;
}

describe("message types", () => {
  it("delivers each type with its content", async () => {
    const account = await createAccount({ balance: 10_000 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Dana" });
    const to = [contact.phone_number];
    const base = { whatsapp_session_id: session.id, to_number: to };
    const sendOne = async (body: Record<string, unknown>) => {
      const res = await send(account.key, { ...base, ...body });
      expect(res.status, res.text).toBe(201);
      return deliveredItem(account.key, contact.phone_number, res.json.data.messages[0].id);
    };

    const image = await sendOne({ type: "image", media_url: media("/png"), content: "Our new logo" });
    expect(image).toMatchObject({ type: "image", caption: "Our new logo", mimetype: "image/png", media_sha256: await sha256Of(media("/png")) });

    const video = await sendOne({ type: "video", media_url: media("/mp4"), content: "Demo" });
    expect(video).toMatchObject({ type: "video", caption: "Demo", mimetype: "video/mp4", media_sha256: await sha256Of(media("/mp4")) });

    const voice = await sendOne({ type: "audio", media_url: media("/ogg"), ptt: true });
    expect(voice).toMatchObject({ type: "audio", ptt: true, media_sha256: await sha256Of(media("/ogg")) });

    const doc = await sendOne({ type: "document", media_url: media("/pdf"), filename: "invoice.pdf", content: "Invoice #12" });
    expect(doc).toMatchObject({ type: "document", file_name: "invoice.pdf", caption: "Invoice #12", media_sha256: await sha256Of(media("/pdf")) });

    const sticker = await sendOne({ type: "sticker", media_url: media("/webp") });
    expect(sticker).toMatchObject({ type: "sticker", mimetype: "image/webp", media_sha256: await sha256Of(media("/webp")) });

    const location = await sendOne({ type: "location", location: { latitude: 6.3703, longitude: 2.3912, name: "Cotonou", address: "Benin" } });
    expect(location.location).toMatchObject({ latitude: 6.3703, longitude: 2.3912, name: "Cotonou", address: "Benin" });

    const card = await sendOne({
      type: "contacts",
      contacts: [{ name: { formatted_name: "Jane Doe", first_name: "Jane", last_name: "Doe" }, phones: [{ phone: "+14155552671", type: "WORK" }] }],
    });
    expect(card.contacts[0].display_name).toBe("Jane Doe");
    expect(card.contacts[0].vcard).toContain("waid=14155552671");

    const poll = await sendOne({ type: "poll", poll: { name: "Lunch?", options: ["Pizza", "Sushi"], selectable_count: 1 } });
    expect(poll.poll).toEqual({ name: "Lunch?", options: ["Pizza", "Sushi"], selectable_count: 1 });

    const first = await send(account.key, { ...base, type: "text", content: "Original" });
    const original = await deliveredItem(account.key, contact.phone_number, first.json.data.messages[0].id);
    const reply = await sendOne({ type: "text", content: "Replying", reply_to: first.json.data.messages[0].id, mentions: [contact.phone_number] });
    expect(reply).toMatchObject({ text: "Replying", quoted_id: original.id, mentions: [`${contact.phone_number}@s.whatsapp.net`] });

    const reaction = await sendOne({ type: "reaction", reaction: { message_id: first.json.data.messages[0].id, emoji: "👍" } });
    expect(reaction.reaction).toEqual({ emoji: "👍", target_id: original.id });
  }, 120_000);
});
