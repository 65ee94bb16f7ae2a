import { ALL_WA_PATCH_NAMES } from "baileys";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { type Client, linkByQr, poll, sandboxOf, sessionOf } from "../helpers/sandbox-client";

// After linking, the primary phone shares its app-state keys, then sends its history as external
// blobs (HistorySync, deflated, encrypted as md-msg-hist, on the media host): the real Baileys
// client downloads each one and emits the phone's chats, messages, names and LID mappings.

const histories = (c: Client) => c.batches.flatMap((b) => (b["messaging-history.set"] ? [b["messaging-history.set"]] : []));
const sentParts = async (accountId: string, sessionId: string) =>
  ((await sandboxOf(accountId).events(1000)) as { kind: string; detail: any }[]).filter((e) => e.kind === "history_sync_sent" && e.detail.session === sessionId).map((e) => e.detail);

describe("history sync to a newly linked device", () => {
  it("delivers the phone's real chats as downloaded blobs, after the app-state key share", async () => {
    const accountId = "acct-history";
    const sessionId = "sess-history";
    const sandbox = sandboxOf(accountId);
    // A phone used for a while: 40 chats × 60 messages, plus chats with other sandbox phones and a group.
    const owner = await sandbox.createPhone({ phone_number: "15553330001", name: "Olga Owner", history: { chats: 40, messages_per_chat: 60 } });
    const pia = await sandbox.createPhone({ phone_number: "15553330002", name: "Pia" });
    const quin = await sandbox.createPhone({ phone_number: "15553330003", name: "Quin" });
    const fromPia = await sandbox.sendMessage(pia.phone_number, { to: owner.phone_number, type: "text", text: "before you linked anything" });
    const group = await sandbox.createGroup(quin.phone_number, { subject: "Climbing", members: [owner.phone_number, pia.phone_number] });
    const inGroup = await sandbox.sendGroupMessage(quin.phone_number, group.jid, { type: "text", text: "saturday at nine?" });

    const client = await runInDurableObject(sessionOf(sessionId), (_i, state) => linkByQr(state.storage, accountId, sessionId, owner.phone_number));
    // Baileys' event buffer may merge the parts into fewer events: gather them all.
    const received = () => {
      const sets = histories(client);
      return {
        chats: new Map(sets.flatMap((h) => h.chats).map((c) => [c.id, c])),
        messages: new Map(sets.flatMap((h) => h.messages).map((m) => [m.key.id!, m])),
        contacts: sets.flatMap((h) => h.contacts),
      };
    };
    // Every seeded message arrived exactly once: the bootstrap (latest 20 per chat) and RECENT (the
    // older 40) blobs were both downloaded, opened and processed; plus Pia's message and the group's.
    await expect.poll(() => received().messages.size, { ...poll, timeout: 30_000 }).toBe(40 * 60 + 2);
    const parts = await sentParts(accountId, sessionId);
    expect(parts.map((p) => [p.sync_type, p.chunk_order, p.progress])).toEqual([["INITIAL_BOOTSTRAP", 0, 100], ["PUSH_NAME", 1, 100], ["RECENT", 2, 100]]);
    // Realistic sizes: the blobs follow the data (tens of KB for this phone).
    expect(parts[0].bytes).toBeGreaterThan(20_000);
    expect(parts[2].bytes).toBeGreaterThan(parts[0].bytes);

    const { chats, messages } = received();
    // 40 seeded chats + Pia + the group (named by its subject).
    expect(chats.size).toBe(42);
    expect(chats.get(group.jid)?.name).toBe("Climbing");
    expect(messages.get(fromPia.id)).toMatchObject({ key: { remoteJid: `${pia.phone_number}@s.whatsapp.net`, fromMe: false }, message: { conversation: "before you linked anything" }, pushName: "Pia" });
    expect(messages.get(inGroup.id)).toMatchObject({ key: { remoteJid: group.jid, participant: `${quin.phone_number}@s.whatsapp.net` }, message: { conversation: "saturday at nine?" } });
    // PUSH_NAME: the contacts' names.
    await expect.poll(() => received().contacts.find((c) => c.id === `${quin.phone_number}@s.whatsapp.net` && c.notify)?.notify, poll).toBe("Quin");
    // The bootstrap's PN↔LID mappings reached Baileys' LID store.
    const lid = await runInDurableObject(sessionOf(sessionId), () => client.socket().signalRepository.lidMapping.getLIDForPN(`${pia.phone_number}@s.whatsapp.net`));
    expect(lid).toBe(pia.lid);

    const creds = client.host.auth.state.creds;
    expect(creds.processedHistoryMessages).toHaveLength(3);
    // The key share came first; Baileys keeps the key and names it its app-state key.
    const log = ((await sandbox.events(1000)) as { kind: string; detail: any }[]).filter((e) => e.detail?.session === sessionId);
    const shared = log.find((e) => e.kind === "app_state_keys_shared")!;
    expect(log.indexOf(shared)).toBeLessThan(log.findIndex((e) => e.kind === "history_sync_sent"));
    expect(creds.myAppStateKeyId).toBe(shared.detail.keys[0]);
    // Baileys then fetched every app-state collection (its sync after the first history part; the
    // 20 s timeout path fetches none).
    const fetched = async () => {
      const events = (await sandbox.events(1000)) as { kind: string; detail: any }[];
      const firstPart = events.findIndex((e) => e.kind === "history_sync_sent" && e.detail.session === sessionId);
      return [...new Set(events.slice(firstPart + 1).filter((e) => e.kind === "app_state_fetched" && e.detail.session === sessionId).map((e) => e.detail.collection))].sort();
    };
    await expect.poll(fetched, poll).toEqual([...ALL_WA_PATCH_NAMES].sort());
    await runInDurableObject(sessionOf(sessionId), () => client.host.stop());
  }, 60_000);

  it("keeps the seeded contacts' numbers (+1 555 200 xxxx) from simulated phones", async () => {
    const account = await createAccount();
    const res = await call("POST", "/v1/sandbox/phones", { key: account.key, body: { phone_number: "15552000007" } });
    expect(res.status, res.text).toBe(422);
    expect(res.json.error.message).toMatch(/reserved for seeded history/);
  });
});
