import { downloadMediaMessage } from "baileys";
import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { bytes, linkByQr, poll, sandboxOf, sessionOf, upsert } from "../helpers/sandbox-client";
import { createPhone, fault, linkedSession, sandboxEventsOf } from "../helpers/sessions";

// The media host honours the expiry `oe` of each direct path it issues: past it a download answers
// 410 (the sandbox's choice; Baileys then asks the sender's phone to upload again: Utils/messages-media.js, 404/410), and
// `oh` signs the path with its `oe`, so a client cannot extend it (404). Fault `expire_media` with
// `ttl` makes the host issue short-lived paths.

// Long enough for link, delivery and the first download on a slow machine.
const TTL_S = 15;
const oeOf = (path: string) => parseInt(new URL(path, "https://x").searchParams.get("oe")!, 16);

describe("media expiry", () => {
  it("a direct path works until its oe, then 410; an edited oe is refused", async () => {
    const accountId = "acct-media-expiry";
    const sessionId = "sess-media-expiry";
    const sandbox = sandboxOf(accountId);
    const owner = await sandbox.createPhone({ phone_number: "15556660001", name: "Uma" });
    const vic = await sandbox.createPhone({ phone_number: "15556660002", name: "Vic" });
    const client = await runInDurableObject(sessionOf(sessionId), (_i, state) => linkByQr(state.storage, accountId, sessionId, owner.phone_number));
    await sandbox.fault(sessionId, "expire_media", { ttl: TTL_S });

    const file = bytes(3000, 7);
    const sent = await sandbox.sendMessage(vic.phone_number, { to: owner.phone_number, type: "image", bytes: file, mimetype: "image/jpeg" });
    await expect.poll(() => upsert(client, sent.id)?.message?.imageMessage?.directPath, poll).toBeTruthy();
    const msg = upsert(client, sent.id)!;
    const image = msg.message!.imageMessage!;
    const oe = oeOf(image.directPath!);
    expect(oe).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + TTL_S);
    expect(oe).toBeGreaterThan(Date.now() / 1000 - 1);

    // Before its oe the file downloads and opens.
    const before = await runInDurableObject(sessionOf(sessionId), () => downloadMediaMessage(msg, "buffer", {}));
    expect(new Uint8Array(before as Buffer)).toEqual(file);
    // The same path with a later oe: the signature no longer matches.
    const extended = image.url!.replace(/oe=[0-9A-F]+/, `oe=${(oe + 86_400).toString(16).toUpperCase()}`);
    expect((await fetch(extended)).status).toBe(404);

    // Past its oe: 410 Gone, and Baileys' download fails with that status.
    await expect.poll(async () => (await fetch(image.url!)).status, { timeout: (TTL_S + 15) * 1000, interval: 250 }).toBe(410);
    const failed = await runInDurableObject(sessionOf(sessionId), () => downloadMediaMessage(msg, "buffer", {}).then(() => undefined, (e: any) => e));
    expect(failed?.output?.statusCode).toBe(410);
    await runInDurableObject(sessionOf(sessionId), () => client.host.stop());
  }, 90_000);

  it("the gateway's media API answers 410 media_expired once the path expired and the phone does not re-upload", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    await fault(account.key, session.id, { kind: "expire_media", ttl: TTL_S });
    await fault(account.key, session.id, { kind: "mediaretry_unanswered" });
    const contact = await createPhone(account.key, { name: "Wes" });
    const file = bytes(2048, 3);
    const res = await call("POST", `/v1/sandbox/phones/${contact.phone_number}/messages`, {
      key: account.key,
      body: { to: session.phone_number, type: "image", base64: Buffer.from(file).toString("base64"), mimetype: "image/jpeg" },
    });
    expect(res.status, res.text).toBe(201);
    let row: any;
    await expect
      .poll(async () => {
        row = (await call("GET", `/v1/whatsapp/messages/${session.id}/session?filter[direction]=incoming`, { key: account.key })).json.data[0];
        return row?.type;
      }, poll)
      .toBe("image");
    const getMedia = () => exports.default.fetch(new Request(`http://gateway.test/v1/whatsapp/messages/${row.id}/media`, { headers: { Authorization: `Bearer ${account.key}` } }));
    const fresh = await getMedia();
    expect(fresh.status).toBe(200);
    expect(new Uint8Array(await fresh.arrayBuffer())).toEqual(file);

    // Once the path's oe passed, the download gets 410; the re-upload request goes unanswered.
    let expired: Response | undefined;
    await expect.poll(async () => (expired = await getMedia()).status, { timeout: (TTL_S + 45) * 1000, interval: 500 }).toBe(410);
    expect(((await expired!.json()) as any).error.code).toBe("media_expired");
    expect(await sandboxEventsOf(account.id, session.id, "mediaretry_unanswered")).toHaveLength(1);
  }, 120_000);
});
