import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { linkByQr, poll, sandboxOf, sessionOf, upsert } from "../helpers/sandbox-client";

// What the real Baileys client sees from LID-addressed phones and groups (docs/protocol/lids.md):
// a 1:1 message from the phone's `…@lid` with `sender_pn`, a group whose metadata names members
// by LID with `phone_number`, and group messages with `participant` = LID and `participant_pn`.

describe("LID addressing in the sandbox, seen by Baileys", () => {
  it("a LID-addressed phone's 1:1 message arrives from its LID, its number beside it", async () => {
    const accountId = "acct-lids-1";
    const sessionId = "sess-lids-1";
    const sandbox = sandboxOf(accountId);
    const me = await sandbox.createPhone({ phone_number: "15552230001", name: "Me" });
    const lena = await sandbox.createPhone({ phone_number: "15552230002", name: "Lena", lid_addressed: true });
    expect(lena.lid_addressed).toBe(true);
    const client = await runInDurableObject(sessionOf(sessionId), (_i, state) => linkByQr(state.storage, accountId, sessionId, me.phone_number));

    const sent = await sandbox.sendMessage(lena.phone_number, { to: me.phone_number, type: "text", text: "from my LID" });
    await expect.poll(() => upsert(client, sent.id)?.message?.conversation, poll).toBe("from my LID");
    const key = upsert(client, sent.id)!.key;
    expect(key).toMatchObject({ remoteJid: lena.lid, remoteJidAlt: `${lena.phone_number}@s.whatsapp.net`, addressingMode: "lid", fromMe: false });
    // Baileys kept the pair in its LID store.
    const pn = await runInDurableObject(sessionOf(sessionId), () => client.socket().signalRepository.lidMapping.getPNForLID(lena.lid));
    expect(pn?.split(":")[0].split("@")[0]).toBe(lena.phone_number);
  });

  it("a LID-addressed group names members by LID, with their numbers", async () => {
    const accountId = "acct-lids-2";
    const sessionId = "sess-lids-2";
    const sandbox = sandboxOf(accountId);
    const me = await sandbox.createPhone({ phone_number: "15552230011", name: "Me" });
    const hana = await sandbox.createPhone({ phone_number: "15552230012", name: "Hana" });
    const ivo = await sandbox.createPhone({ phone_number: "15552230013", name: "Ivo" });
    const client = await runInDurableObject(sessionOf(sessionId), (_i, state) => linkByQr(state.storage, accountId, sessionId, me.phone_number));

    const group = await sandbox.createGroup(hana.phone_number, { subject: "LIDs", members: [me.phone_number, ivo.phone_number], addressing_mode: "lid" });
    await expect.poll(() => client.batches.flatMap((b) => b["groups.upsert"] ?? []).find((g) => g.id === group.jid)?.subject, poll).toBe("LIDs");
    const meta = client.batches.flatMap((b) => b["groups.upsert"] ?? []).find((g) => g.id === group.jid)!;
    expect(meta.addressingMode).toBe("lid");
    expect(meta.owner).toBe(hana.lid);
    expect(meta.ownerPn).toBe(`${hana.phone_number}@s.whatsapp.net`);
    expect(meta.participants.map((p) => [p.id, p.phoneNumber])).toEqual([hana, me, ivo].map((p) => [p.lid, `${p.phone_number}@s.whatsapp.net`]));

    const sent = await sandbox.sendGroupMessage(ivo.phone_number, group.jid, { type: "text", text: "hi by LID" });
    await expect.poll(() => upsert(client, sent.id)?.message?.conversation, poll).toBe("hi by LID");
    expect(upsert(client, sent.id)!.key).toMatchObject({ remoteJid: group.jid, participant: ivo.lid, participantAlt: `${ivo.phone_number}@s.whatsapp.net`, addressingMode: "lid" });
  });
});
