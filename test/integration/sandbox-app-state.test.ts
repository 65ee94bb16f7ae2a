import { Buffer } from "node:buffer";
import { ALL_WA_PATCH_NAMES, proto } from "baileys";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type Client, linkByQr, poll, sandboxOf, sessionOf, upsert } from "../helpers/sandbox-client";

// The app-state server: two devices linked to one phone get the same key share, sync every
// collection, and a patch one pushes (Baileys chatModify archive) is stored as the next version and
// fetched by the other after a server_sync notification. A push on a stale version is a 409 conflict
// carrying the patches the device lacks (whatsmeow appstate.go sendAppState).

/** Collections a session fetched from the app-state server (event `app_state_fetched`), sorted, once each. */
const fetchedCollections = async (accountId: string, sessionId: string) =>
  [...new Set(((await sandboxOf(accountId).events(1000)) as { kind: string; detail: any }[]).filter((e) => e.kind === "app_state_fetched" && e.detail.session === sessionId).map((e) => e.detail.collection as string))].sort();
const archived = (c: Client, jid: string) =>
  c.batches.flatMap((b) => b["chats.update"] ?? []).filter((u) => u.id === jid && u.archived !== undefined).map((u) => u.archived);
const patchEvents = async (accountId: string) =>
  ((await sandboxOf(accountId).events(1000)) as { kind: string; detail: any }[]).filter((e) => e.kind === "app_state_patch").map((e) => e.detail);

describe("app-state sync between linked devices", () => {
  it("shares keys, stores versioned patches and serves them to the other device", async () => {
    const accountId = "acct-appstate";
    const sandbox = sandboxOf(accountId);
    const owner = await sandbox.createPhone({ phone_number: "15554440001", name: "Owen" });
    const rita = await sandbox.createPhone({ phone_number: "15554440002", name: "Rita" });
    const ritaJid = `${rita.phone_number}@s.whatsapp.net`;

    const a = await runInDurableObject(sessionOf("sess-appstate-a"), (_i, state) => linkByQr(state.storage, accountId, "sess-appstate-a", owner.phone_number));
    const b = await runInDurableObject(sessionOf("sess-appstate-b"), (_i, state) => linkByQr(state.storage, accountId, "sess-appstate-b", owner.phone_number));
    // Both fetched every collection from the server: Baileys' sync after the history (its 20 s
    // timeout path fetches none), with the phone's one key.
    const all = [...ALL_WA_PATCH_NAMES].sort();
    await expect.poll(() => fetchedCollections(accountId, "sess-appstate-a"), poll).toEqual(all);
    await expect.poll(() => fetchedCollections(accountId, "sess-appstate-b"), poll).toEqual(all);
    expect(a.host.auth.state.creds.myAppStateKeyId).toBeTruthy();
    expect(b.host.auth.state.creds.myAppStateKeyId).toBe(a.host.auth.state.creds.myAppStateKeyId);

    const hello = await sandbox.sendMessage(rita.phone_number, { to: owner.phone_number, type: "text", text: "archive me" });
    await expect.poll(() => upsert(a, hello.id)?.messageTimestamp, poll).toBeTruthy();
    const last = { key: { remoteJid: ritaJid, fromMe: false, id: hello.id }, messageTimestamp: upsert(a, hello.id)!.messageTimestamp };

    // Device A archives the chat: regular_low v1 on the server, and B learns it.
    await runInDurableObject(sessionOf("sess-appstate-a"), () => a.socket().chatModify({ archive: true, lastMessages: [last] }, ritaJid));
    await expect.poll(() => archived(b, ritaJid), poll).toEqual([true]);
    // Device B unarchives it: v2, and A learns it.
    await runInDurableObject(sessionOf("sess-appstate-b"), () => b.socket().chatModify({ archive: false, lastMessages: [last] }, ritaJid));
    await expect.poll(() => archived(a, ritaJid), poll).toContain(false);
    expect((await patchEvents(accountId)).map((p) => [p.collection, p.version, p.device])).toEqual([["regular_low", 1, 1], ["regular_low", 2, 2]]);

    // A push based on v0 now conflicts: 409, with the two patches the device lacks, each stamped with its version.
    const stale = proto.SyncdPatch.encode({ mutations: [{ operation: proto.SyncdMutation.SyncdOperation.SET, record: { index: { blob: new Uint8Array(32) }, value: { blob: new Uint8Array(48) }, keyId: { id: new Uint8Array(6) } } }] }).finish();
    const answer = await runInDurableObject(sessionOf("sess-appstate-a"), () =>
      a.socket().query({
        tag: "iq",
        attrs: { to: "s.whatsapp.net", xmlns: "w:sync:app:state", type: "set" },
        content: [{ tag: "sync", attrs: {}, content: [{ tag: "collection", attrs: { name: "regular_low", version: "0", return_snapshot: "false" }, content: [{ tag: "patch", attrs: {}, content: stale }] }] }],
      }),
    );
    const collection = (answer.content as any[])[0].content[0];
    expect(collection.attrs).toMatchObject({ name: "regular_low", type: "error" });
    expect(collection.content[0].attrs).toMatchObject({ code: "409", text: "conflict" });
    const versions = collection.content[1].content.map((p: any) => Number(proto.SyncdPatch.decode(p.content).version?.version));
    expect(versions).toEqual([1, 2]);
    expect((await patchEvents(accountId)).length).toBe(2);

    // Versions must be decimal digits and not past the server's: 400 for "0x1", " 1" and 3.
    await runInDurableObject(sessionOf("sess-appstate-b"), () => b.host.stop());
    const fetchAt = (version: string) =>
      runInDurableObject(sessionOf("sess-appstate-a"), () =>
        a.socket().query({
          tag: "iq",
          attrs: { to: "s.whatsapp.net", xmlns: "w:sync:app:state", type: "set" },
          content: [{ tag: "sync", attrs: {}, content: [{ tag: "collection", attrs: { name: "regular_low", version, return_snapshot: "false" } }] }],
        }),
      ).then((r) => (r.content as any[])[0].content[0]);
    for (const bad of ["0x1", " 1", "", "3"]) expect((await fetchAt(bad)).content[0].attrs, bad).toMatchObject({ code: "400" });
    // A patch is served as it was pushed, its version appended: a field this proto lacks (#99) survives.
    const unknownField = Uint8Array.from([0x98, 0x06, 0x2a]); // field 99, varint 42
    const pushed = Uint8Array.from([...stale, ...unknownField]);
    const push = await runInDurableObject(sessionOf("sess-appstate-a"), () =>
      a.socket().query({
        tag: "iq",
        attrs: { to: "s.whatsapp.net", xmlns: "w:sync:app:state", type: "set" },
        content: [{ tag: "sync", attrs: {}, content: [{ tag: "collection", attrs: { name: "regular_low", version: "2", return_snapshot: "false" }, content: [{ tag: "patch", attrs: {}, content: pushed }] }] }],
      }),
    );
    expect((push.content as any[])[0].content[0].attrs).toEqual({ name: "regular_low", version: "3" });
    const served = (await fetchAt("2")).content[0].content[0].content as Uint8Array;
    expect(Buffer.from(served.subarray(0, pushed.length)).equals(Buffer.from(pushed))).toBe(true);
    expect(Number(proto.SyncdPatch.decode(served).version?.version)).toBe(3);

    await runInDurableObject(sessionOf("sess-appstate-a"), () => a.host.stop());
  }, 60_000);
});
