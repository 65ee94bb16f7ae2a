import { downloadMediaMessage } from "baileys";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SANDBOX_MEDIA_DOMAIN, SANDBOX_MEDIA_HEADER, WHATSAPP_MEDIA_HOST, registerMediaTarget, sandboxMediaHost, sandboxMediaMarker } from "../../src/runtime/media-target";
import { bytes, linkByQr, poll, sandboxOf, sessionOf, sha256Hex, upsert } from "../helpers/sandbox-client";

// Media both ways over the real protocol: Baileys encrypts, asks media_conn, uploads over HTTPS to
// the sandbox media host (routed to the account's SandboxObject), sends the message; the simulated
// phone downloads, checks and decrypts. And the reverse: a phone uploads, Baileys downloads.

describe("sandbox media with the real Baileys client", () => {
  it("Baileys sends image, document, voice note, video and sticker; the phone checks and opens each", () => {
    const accountId = "acct-media-out";
    const sessionId = "sess-media-out";
    return runInDurableObject(sessionOf(sessionId), async (_i, state) => {
      const sandbox = sandboxOf(accountId);
      const ana = await sandbox.createPhone({ phone_number: "15551110001", name: "Ana" });
      const ben = await sandbox.createPhone({ phone_number: "15551110002", name: "Ben" });
      const client = await linkByQr(state.storage, accountId, sessionId, ana.phone_number);
      const to = `${ben.phone_number}@s.whatsapp.net`;
      const sock = client.socket();

      const image = bytes(20_000, 1);
      const doc = bytes(3_000_000, 2); // several storage rows
      const voice = bytes(4_000, 3);
      const video = bytes(50_000, 4);
      const sticker = bytes(8_000, 5);
      const sent = {
        image: await sock.sendMessage(to, { image: Buffer.from(image), caption: "a picture", mimetype: "image/png" }),
        document: await sock.sendMessage(to, { document: Buffer.from(doc), mimetype: "application/pdf", fileName: "report.pdf", caption: "the report" }),
        audio: await sock.sendMessage(to, { audio: Buffer.from(voice), mimetype: "audio/ogg; codecs=opus", ptt: true, seconds: 2 }),
        video: await sock.sendMessage(to, { video: Buffer.from(video), mimetype: "video/mp4", caption: "a clip" }),
        sticker: await sock.sendMessage(to, { sticker: Buffer.from(sticker) }),
      };
      const inboxItem = async (id: string) => (await sandbox.inbox(ben.phone_number)).find((m) => m.id === id);
      for (const s of Object.values(sent)) await expect.poll(() => inboxItem(s!.key.id!), poll).toBeDefined();

      // The message Baileys sent names the sandbox host it uploaded to.
      expect(sent.image!.message?.imageMessage?.url).toMatch(new RegExp(`^https://${sandboxMediaHost(accountId).replace(/\./g, "\\.")}/v/`));
      expect(await inboxItem(sent.image!.key.id!)).toMatchObject({
        direction: "in", from: ana.phone_number, type: "image", caption: "a picture", mimetype: "image/png",
        media_sha256: await sha256Hex(image), file_length: image.length, media_status: "ok", ptt: null, file_name: null,
      });
      expect(await inboxItem(sent.document!.key.id!)).toMatchObject({
        type: "document", caption: "the report", mimetype: "application/pdf", file_name: "report.pdf",
        media_sha256: await sha256Hex(doc), file_length: doc.length, media_status: "ok",
      });
      expect(await inboxItem(sent.audio!.key.id!)).toMatchObject({
        type: "audio", ptt: true, mimetype: "audio/ogg; codecs=opus", media_sha256: await sha256Hex(voice), file_length: voice.length, media_status: "ok",
      });
      expect(await inboxItem(sent.video!.key.id!)).toMatchObject({ type: "video", caption: "a clip", media_sha256: await sha256Hex(video), media_status: "ok" });
      expect(await inboxItem(sent.sticker!.key.id!)).toMatchObject({ type: "sticker", mimetype: "image/webp", media_sha256: await sha256Hex(sticker), media_status: "ok" });

      // The phone's copy opens to the exact bytes.
      const opened = await sandbox.downloadMedia(ben.phone_number, sent.document!.key.id!);
      expect(opened).toMatchObject({ type: "document", file_name: "report.pdf", file_length: doc.length, sha256: await sha256Hex(doc) });
      expect(Buffer.from(opened.base64, "base64").equals(Buffer.from(doc))).toBe(true);
      const none = await sandbox.downloadMedia(ben.phone_number, "NO-SUCH-ID").then(() => undefined, (e: Error) => e);
      expect(none?.message).toMatch(/^\[404\] /);
      await client.host.stop();
    });
  });

  it("Baileys sends location, contact, poll, reaction, and a reply with mentions; the inbox shows each", () => {
    const accountId = "acct-media-kinds";
    const sessionId = "sess-media-kinds";
    return runInDurableObject(sessionOf(sessionId), async (_i, state) => {
      const sandbox = sandboxOf(accountId);
      const cy = await sandbox.createPhone({ phone_number: "15551120001", name: "Cy" });
      const di = await sandbox.createPhone({ phone_number: "15551120002", name: "Di" });
      const client = await linkByQr(state.storage, accountId, sessionId, cy.phone_number);
      const to = `${di.phone_number}@s.whatsapp.net`;
      const sock = client.socket();
      const vcard = "BEGIN:VCARD\nVERSION:3.0\nFN:Jane Doe\nTEL;type=CELL;waid=15550009999:+1 555 000 9999\nEND:VCARD";

      const first = await sock.sendMessage(to, { text: "original" });
      const firstId = first!.key.id!;
      const loc = await sock.sendMessage(to, { location: { degreesLatitude: 6.37, degreesLongitude: 2.39, name: "Cotonou", address: "Benin" } });
      const contact = await sock.sendMessage(to, { contacts: { displayName: "Jane Doe", contacts: [{ displayName: "Jane Doe", vcard }] } });
      const pollMsg = await sock.sendMessage(to, { poll: { name: "Lunch?", values: ["Yes", "No", "Later"], selectableCount: 1 } });
      const reaction = await sock.sendMessage(to, { react: { text: "👍", key: first!.key } });
      const reply = await sock.sendMessage(to, { text: "see above @15551120002", mentions: [to] }, { quoted: first! });
      const item = async (id: string) => (await sandbox.inbox(di.phone_number)).find((m) => m.id === id);
      await expect.poll(() => item(reply!.key.id!), poll).toBeDefined();

      expect(await item(loc!.key.id!)).toMatchObject({ type: "location", location: { latitude: 6.37, longitude: 2.39, name: "Cotonou", address: "Benin" } });
      expect(await item(contact!.key.id!)).toMatchObject({ type: "contact", contacts: [{ display_name: "Jane Doe", vcard }] });
      expect(await item(pollMsg!.key.id!)).toMatchObject({ type: "poll", poll: { name: "Lunch?", options: ["Yes", "No", "Later"], selectable_count: 1 } });
      expect(await item(reaction!.key.id!)).toMatchObject({ type: "reaction", reaction: { emoji: "👍", target_id: first!.key.id } });
      expect(await item(reply!.key.id!)).toMatchObject({ type: "text", text: "see above @15551120002", quoted_id: first!.key.id, mentions: [to] });
      // Delete for everyone: the phone's copy is marked revoked.
      expect((await item(firstId))?.revoked_at).toBeNull();
      await sock.sendMessage(to, { delete: { ...first!.key } });
      await expect.poll(async () => (await item(firstId))?.revoked_at, poll).toMatch(/^\d{4}-\d\d-\d\dT/);
      await client.host.stop();
    });
  });

  it("a phone sends media; Baileys receives it and downloads the exact bytes, also from a later request", async () => {
    const accountId = "acct-media-in";
    const sessionId = "sess-media-in";
    const sandbox = sandboxOf(accountId);
    const eve = await sandbox.createPhone({ phone_number: "15551130001", name: "Eve" });
    const fay = await sandbox.createPhone({ phone_number: "15551130002", name: "Fay" });
    const client = await runInDurableObject(sessionOf(sessionId), (_i, state) => linkByQr(state.storage, accountId, sessionId, eve.phone_number));

    const photo = bytes(30_000, 7);
    const pdf = bytes(2_500_000, 8);
    const note = bytes(5_000, 9);
    const sentPhoto = await sandbox.sendMessage(fay.phone_number, { to: eve.phone_number, type: "image", base64: Buffer.from(photo).toString("base64"), mimetype: "image/png", caption: "look" });
    const sentPdf = await sandbox.sendMessage(fay.phone_number, { to: eve.phone_number, type: "document", bytes: pdf, mimetype: "application/pdf", filename: "contract.pdf" });
    const sentNote = await sandbox.sendMessage(fay.phone_number, { to: eve.phone_number, type: "audio", bytes: note, ptt: true });
    expect(sentPhoto).toMatchObject({ type: "image", media_sha256: await sha256Hex(photo), file_length: photo.length, delivered_to_devices: 1 });
    await expect.poll(() => upsert(client, sentNote.id), poll).toBeDefined();

    const got = upsert(client, sentPhoto.id)!;
    expect(got.key.remoteJid).toBe(`${fay.phone_number}@s.whatsapp.net`);
    expect(got.message?.imageMessage).toMatchObject({ caption: "look", mimetype: "image/png" });
    expect(upsert(client, sentPdf.id)!.message?.documentMessage).toMatchObject({ fileName: "contract.pdf", mimetype: "application/pdf" });
    expect(upsert(client, sentNote.id)!.message?.audioMessage).toMatchObject({ ptt: true, mimetype: "audio/ogg; codecs=opus" });

    // Baileys' own download path (URL on the sandbox host, AES-CBC decryption), inside the session object.
    const downloaded = await runInDurableObject(sessionOf(sessionId), async () => ({
      photo: await downloadMediaMessage(got, "buffer", {}),
      pdf: await downloadMediaMessage(upsert(client, sentPdf.id)!, "buffer", {}),
    }));
    expect(Buffer.from(downloaded.photo).equals(Buffer.from(photo))).toBe(true);
    expect(Buffer.from(downloaded.pdf).equals(Buffer.from(pdf))).toBe(true);

    // With the socket closed (a sleeping session), stored media still downloads.
    await runInDurableObject(sessionOf(sessionId), () => client.host.stop());
    const later = await runInDurableObject(sessionOf(sessionId), () => downloadMediaMessage(upsert(client, sentNote.id)!, "buffer", {}));
    expect(Buffer.from(later).equals(Buffer.from(note))).toBe(true);
    // The phone's own inbox shows what it sent.
    expect((await sandbox.inbox(fay.phone_number)).find((m) => m.id === sentPdf.id)).toMatchObject({ direction: "out", type: "document", file_name: "contract.pdf", media_status: "ok" });
  });

  it("confines routing to registered sandbox hosts and checks uploads", async () => {
    const accountId = "acct-media-guard";
    const sandbox = sandboxOf(accountId);
    // A sandbox host no session of this isolate registered never leaves the process.
    const stray = await fetch(`https://nobody.${SANDBOX_MEDIA_DOMAIN}/v/t62.7118-24/x.enc`).then(() => undefined, (e: Error) => e);
    expect(stray?.message).toMatch(/no sandbox media target registered/);
    expect(sandboxMediaHost(accountId)).toBe(sandboxMediaHost(accountId));
    expect(sandboxMediaHost(accountId)).not.toBe(sandboxMediaHost("acct-media-guard-2"));
    expect(sandboxMediaHost(accountId)).toMatch(/^m[0-9a-f]{32}\.media\.sandbox\.invalid$/);

    const body = bytes(100, 1);
    const noAuth = await sandbox.fetch("https://h.media.sandbox.invalid/mms/image/abc?auth=forged&token=abc", { method: "POST", body });
    expect(noAuth.status).toBe(401);
    const unknown = await sandbox.fetch("https://h.media.sandbox.invalid/v/t62.7118-24/00000000000000000000000000000000.enc?oh=01_x");
    expect(unknown.status).toBe(404);
    // Unknown phone for a media send, bad payloads.
    await sandbox.createPhone({ phone_number: "15551140001" });
    const noPhone = await sandbox.sendMessage("15551140001", { to: "15551149999", type: "image", base64: "AAAA" }).then(() => undefined, (e: Error) => e);
    expect(noPhone?.message).toMatch(/^\[404\] /);
    await sandbox.createPhone({ phone_number: "15551140002" });
    const empty = await sandbox.sendMessage("15551140001", { to: "15551140002", type: "image", base64: "" }).then(() => undefined, (e: Error) => e);
    expect(empty?.message).toMatch(/^\[422\] /);
    const badType = await sandbox.sendMessage("15551140001", { to: "15551140002", type: "hologram" } as never).then(() => undefined, (e: Error) => e);
    expect(badType?.message).toMatch(/^\[422\] /);
  });

  it("sends a sandbox socket's downloads from WhatsApp's default host to its sandbox, by an isolate-only marker", async () => {
    const accountId = "acct-media-marker";
    const seen: { url: string; marker: string | null }[] = [];
    registerMediaTarget(sandboxMediaHost(accountId), {
      fetch: async (req) => {
        seen.push({ url: req.url, marker: req.headers.get(SANDBOX_MEDIA_HEADER) });
        return new Response("blob");
      },
    });
    const path = "/v/t62.7119-24/0123456789abcdef0123456789abcdef.enc?oh=01_x&oe=FFFFFFFF";
    const res = await fetch(`https://${WHATSAPP_MEDIA_HOST}${path}`, { headers: { [SANDBOX_MEDIA_HEADER]: sandboxMediaMarker(accountId) } });
    expect(await res.text()).toBe("blob");
    // The sandbox got it on its own host, and the marker did not travel with it.
    expect(seen).toEqual([{ url: `https://${sandboxMediaHost(accountId)}${path}`, marker: null }]);

    // A marker without this isolate's token (a header anyone could set) routes nothing into a sandbox.
    const forged = `${"0".repeat(36)}:${sandboxMediaHost(accountId)}`;
    await fetch(`https://${WHATSAPP_MEDIA_HOST}${path}`, { headers: { [SANDBOX_MEDIA_HEADER]: forged } }).catch(() => undefined);
    await fetch(`https://${WHATSAPP_MEDIA_HOST}${path}`, { headers: { [SANDBOX_MEDIA_HEADER]: sandboxMediaHost(accountId) } }).catch(() => undefined);
    expect(seen).toHaveLength(1);
  });
});
