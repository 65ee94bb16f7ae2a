import { downloadMediaMessage } from "baileys";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bytes, linkByQr, poll, sandboxOf, sessionOf, upsert } from "../helpers/sandbox-client";
import type { SandboxObject } from "../../src/sandbox/sandbox.do";

/**
 * A driver call expected to fail, made on the sandbox object itself: its error message. (Through
 * the RPC stub, a rejection is also reported by workerd as an uncaught promise.)
 */
const refusal = (sandbox: ReturnType<typeof sandboxOf>, fn: (o: SandboxObject) => Promise<unknown>) =>
  runInDurableObject(sandbox as unknown as DurableObjectStub, (o: unknown) => fn(o as SandboxObject).then(() => undefined, (e: Error) => e));

// Groups over the real protocol: a phone creates a group (w:gp2 notification), members send with
// Signal sender keys (distribution message in a pkmsg per device, then skmsg), Baileys answers its
// w:g2 queries from the sandbox and can send into the group itself.

describe("sandbox groups with the real Baileys client", () => {
  it("a phone creates a group and sends to it; Baileys receives with the group jid and participant", async () => {
    const accountId = "acct-groups";
    const sessionId = "sess-groups";
    const sandbox = sandboxOf(accountId);
    const gus = await sandbox.createPhone({ phone_number: "15552220001", name: "Gus (account)" });
    const hana = await sandbox.createPhone({ phone_number: "15552220002", name: "Hana" });
    const ivo = await sandbox.createPhone({ phone_number: "15552220003", name: "Ivo" });
    const client = await runInDurableObject(sessionOf(sessionId), (_i, state) => linkByQr(state.storage, accountId, sessionId, gus.phone_number));

    const group = await sandbox.createGroup(hana.phone_number, { subject: "Team", members: [gus.phone_number, ivo.phone_number] });
    expect(group).toMatchObject({ subject: "Team", owner: hana.phone_number });
    expect(group.jid).toMatch(/^120363\d{12}@g\.us$/);
    expect(group.participants.map((p) => [p.phone_number, p.admin])).toEqual([[hana.phone_number, "superadmin"], [gus.phone_number, null], [ivo.phone_number, null]]);
    // The linked device hears of the new group.
    await expect.poll(() => client.batches.flatMap((b) => b["groups.upsert"] ?? []).find((g) => g.id === group.jid)?.subject, poll).toBe("Team");

    const first = await sandbox.sendGroupMessage(hana.phone_number, group.jid, { type: "text", text: "hello team, this is a longer group message" });
    const second = await sandbox.sendGroupMessage(ivo.phone_number, group.jid, { type: "text", text: "hi from ivo" });
    const third = await sandbox.sendGroupMessage(hana.phone_number, group.jid, { type: "text", text: "second from hana (skmsg only)" });
    expect(first.delivered_to_devices).toBe(1);
    await expect.poll(() => upsert(client, third.id)?.message?.conversation, poll).toBe("second from hana (skmsg only)");
    const got = upsert(client, first.id)!;
    expect(got.key).toMatchObject({ remoteJid: group.jid, participant: `${hana.phone_number}@s.whatsapp.net`, fromMe: false });
    expect(got.message?.conversation).toBe("hello team, this is a longer group message");
    expect(got.pushName).toBe("Hana");
    expect(upsert(client, second.id)?.key.participant).toBe(`${ivo.phone_number}@s.whatsapp.net`);
    // Other members' inboxes show it as a group message.
    expect((await sandbox.inbox(ivo.phone_number)).find((m) => m.id === first.id)).toMatchObject({
      direction: "in", from: hana.phone_number, to: group.jid, group_jid: group.jid, participant: hana.phone_number, text: "hello team, this is a longer group message",
    });

    // Baileys' own group queries are answered from the sandbox (plain fields only: the metadata
    // holds NaN values the test harness cannot carry back).
    const meta = await runInDurableObject(sessionOf(sessionId), async () => {
      const m = await client.socket().groupMetadata(group.jid);
      return { id: m.id, subject: m.subject, owner: m.owner, size: m.size, participants: m.participants.map((p) => p.id) };
    });
    const all = await runInDurableObject(sessionOf(sessionId), async () => Object.keys(await client.socket().groupFetchAllParticipating()));
    expect(meta).toEqual({ id: group.jid, subject: "Team", owner: `${hana.phone_number}@s.whatsapp.net`, size: 3, participants: [hana, gus, ivo].map((p) => `${p.phone_number}@s.whatsapp.net`) });
    expect(all).toEqual([group.jid]);

    // Media into the group: Baileys downloads it through the routed host.
    const pic = bytes(12_000, 11);
    const media = await sandbox.sendGroupMessage(ivo.phone_number, group.jid, { type: "image", bytes: pic, caption: "group pic" });
    await expect.poll(() => upsert(client, media.id), poll).toBeDefined();
    const file = await runInDurableObject(sessionOf(sessionId), () => downloadMediaMessage(upsert(client, media.id)!, "buffer", {}));
    expect(Buffer.from(file).equals(Buffer.from(pic))).toBe(true);

    // Baileys sends into the group: every member phone decrypts the sender-key message.
    const out = await runInDurableObject(sessionOf(sessionId), () => client.socket().sendMessage(group.jid, { text: "reply from the gateway" }));
    for (const member of [hana, ivo]) {
      await expect.poll(async () => (await sandbox.inbox(member.phone_number)).find((m) => m.id === out!.key.id)?.text, poll).toBe("reply from the gateway");
    }
    expect((await sandbox.inbox(hana.phone_number)).find((m) => m.id === out!.key.id)).toMatchObject({ from: gus.phone_number, group_jid: group.jid, participant: gus.phone_number });
    const again = await runInDurableObject(sessionOf(sessionId), () => client.socket().sendMessage(group.jid, { text: "and again" }));
    await expect.poll(async () => (await sandbox.inbox(ivo.phone_number)).find((m) => m.id === again!.key.id)?.text, poll).toBe("and again");

    // Driver errors.
    const notMember = await sandbox.createPhone({ phone_number: "15552220009" });
    const refused = await refusal(sandbox, (o) => o.sendGroupMessage(notMember.phone_number, group.jid, { type: "text", text: "x" }));
    expect(refused?.message).toMatch(/^\[409\] /);
    const missing = await refusal(sandbox, (o) => o.sendGroupMessage(hana.phone_number, "120363000000000000@g.us", { type: "text", text: "x" }));
    expect(missing?.message).toMatch(/^\[404\] /);
    const badMembers = await refusal(sandbox, (o) => o.createGroup(hana.phone_number, { subject: "X", members: ["15559990000"] }));
    expect(badMembers?.message).toMatch(/^\[404\] /);
    const noSubject = await refusal(sandbox, (o) => o.createGroup(hana.phone_number, { subject: " ", members: [ivo.phone_number] }));
    expect(noSubject?.message).toMatch(/^\[422\] /);
    await runInDurableObject(sessionOf(sessionId), () => client.host.stop());
  });
});
