import { Buffer } from "node:buffer";
import type { BinaryNode } from "baileys";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type Client, linkByQr, poll, sandboxOf, sessionOf } from "../helpers/sandbox-client";

// What the account's devices (and people it chats with) are told when its privacy or picture
// changes, seen on the wire by real Baileys clients: `account_sync` notifications to the account's
// other devices (whatsmeow handleAccountSyncNotification), `picture` notifications to the devices of
// people its picture privacy lets see it.

/** Every `<notification type=…>` a client's socket receives, kept in arrival order. */
function listen(c: Client, type: string): BinaryNode[] {
  const seen: BinaryNode[] = [];
  c.socket().ws.on(`CB:notification,type:${type}`, (n: BinaryNode) => seen.push(n));
  return seen;
}
const categories = (seen: BinaryNode[]) =>
  seen.flatMap((n) => (n.content as BinaryNode[]).filter((c) => c.tag === "privacy").flatMap((p) => (p.content as BinaryNode[]).map((c) => `${c.attrs.name}=${c.attrs.value}`)));
const childTags = (seen: BinaryNode[]) => seen.flatMap((n) => (n.content as BinaryNode[]).map((c) => c.tag));

describe("privacy and picture notifications", () => {
  it("tells the account's other devices of a privacy change, and its contacts of a new picture", async () => {
    const accountId = "acct-privacy-notify";
    const sandbox = sandboxOf(accountId);
    const gus = await sandbox.createPhone({ phone_number: "15556660001", name: "Gus" });
    const hana = await sandbox.createPhone({ phone_number: "15556660002", name: "Hana" });
    const a = await runInDurableObject(sessionOf("sess-privacy-a"), (_i, state) => linkByQr(state.storage, accountId, "sess-privacy-a", gus.phone_number));
    const b = await runInDurableObject(sessionOf("sess-privacy-b"), (_i, state) => linkByQr(state.storage, accountId, "sess-privacy-b", gus.phone_number));
    const h = await runInDurableObject(sessionOf("sess-privacy-h"), (_i, state) => linkByQr(state.storage, accountId, "sess-privacy-h", hana.phone_number));
    const syncA = await runInDurableObject(sessionOf("sess-privacy-a"), () => listen(a, "account_sync"));
    const syncB = await runInDurableObject(sessionOf("sess-privacy-b"), () => listen(b, "account_sync"));
    const pictures = await runInDurableObject(sessionOf("sess-privacy-h"), () => listen(h, "picture"));

    // Device A changes last seen: B is told, the server answers A with what it stored.
    await runInDurableObject(sessionOf("sess-privacy-a"), () => a.socket().updateLastSeenPrivacy("contacts"));
    await expect.poll(() => categories(syncB), poll).toEqual(["last=contacts"]);
    // The phone changes read receipts: every device is told. A heard only this one (its own change was not echoed).
    await sandbox.setPhonePrivacy(gus.phone_number, { read_receipts: "none" });
    await expect.poll(() => categories(syncA), poll).toEqual(["readreceipts=none"]);
    await expect.poll(() => categories(syncB), poll).toEqual(["last=contacts", "readreceipts=none"]);
    // A fresh read on B shows both.
    const settings = await runInDurableObject(sessionOf("sess-privacy-b"), () => b.socket().fetchPrivacySettings(true));
    expect(settings).toMatchObject({ last: "contacts", readreceipts: "none" });

    // WA Web's form with an "except" list (whatsapp-rust SetPrivacySettingSpec): the list is edited.
    const setProfile = (users: BinaryNode[], value = "contact_blacklist") =>
      runInDurableObject(sessionOf("sess-privacy-a"), () =>
        a.socket().query({ tag: "iq", attrs: { to: "s.whatsapp.net", type: "set", xmlns: "privacy" }, content: [{ tag: "privacy", attrs: { addressing_mode: "lid" }, content: [{ tag: "category", attrs: { name: "profile", value }, content: users }] }] }),
      );
    await setProfile([{ tag: "user", attrs: { action: "add", jid: hana.lid, pn_jid: `${hana.phone_number}@s.whatsapp.net` } }]);
    expect(await sandbox.phoneOwnProfile(gus.phone_number)).toMatchObject({ privacy: { profile_picture: "contact_blacklist" }, except: { profile_picture: [hana.phone_number] } });
    await setProfile([{ tag: "user", attrs: { action: "remove", jid: hana.lid } }]);
    expect((await sandbox.phoneOwnProfile(gus.phone_number)).except.profile_picture).toEqual([]);
    // A value the category does not take: refused, nothing stored.
    await expect(setProfile([], "match_last_seen")).rejects.toMatchObject({ data: 400 });
    expect((await sandbox.phoneOwnProfile(gus.phone_number)).privacy.profile_picture).toBe("contact_blacklist");

    // Hana has chatted with Gus; A sets the account's picture twice. The first time the picture is
    // for Gus's contacts only and Hana is not one: she is not told. Then Gus saves her number.
    await sandbox.sendMessage(hana.phone_number, { to: gus.phone_number, type: "text", text: "hi" });
    const setPicture = async (jpeg: Buffer) => {
      const answer = await runInDurableObject(sessionOf("sess-privacy-a"), () =>
        a.socket().query({ tag: "iq", attrs: { to: "s.whatsapp.net", type: "set", xmlns: "w:profile:picture" }, content: [{ tag: "picture", attrs: { type: "image" }, content: jpeg }] }),
      );
      return (answer.content as BinaryNode[])[0].attrs.id;
    };
    const first = await setPicture(Buffer.from("ffd8ffe000104a46494600010100000100010000ffd9", "hex"));
    expect(first).toMatch(/^\d+$/);
    await expect.poll(() => childTags(syncB), poll).toContain("picture");
    await sandbox.saveAddressBookContact(gus.phone_number, hana.phone_number, { name: "Hana" });
    const id = await setPicture(Buffer.from("ffd8ffe000104a46494600010100000100020000ffd9", "hex"));
    expect(id).toMatch(/^\d+$/);
    // Only the second change reached Hana.
    await expect.poll(() => pictures.map((n) => [n.attrs.from, (n.content as BinaryNode[])[0].tag, (n.content as BinaryNode[])[0].attrs.id]), poll).toEqual([[`${gus.phone_number}@s.whatsapp.net`, "set", id]]);
    // Baileys turns it into a contact update.
    await expect.poll(() => h.batches.flatMap((e) => e["contacts.update"] ?? []).some((u) => u.id === `${gus.phone_number}@s.whatsapp.net` && u.imgUrl === "changed"), poll).toBe(true);

    for (const [s, c] of [["sess-privacy-a", a], ["sess-privacy-b", b], ["sess-privacy-h", h]] as const) await runInDurableObject(sessionOf(s), () => c.host.stop());
  });
});
