import type { BinaryNode, GroupMetadata, ParticipantAction } from "baileys";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { senderKeyName } from "../../src/sandbox/groups";
import { joinByCode } from "../../src/sandbox/groups.invites";
import { GROUP_MAX, acceptAddInvite, changeParticipants, createGroup, leaveGroup } from "../../src/sandbox/groups.ops";
import type { ServerCore } from "../../src/sandbox/server.core";
import { type Client, linkByQr, poll, sandboxOf, sessionOf, upsert } from "../helpers/sandbox-client";

// The admin side of groups over the real protocol: the linked Baileys client creates and runs a
// group with w:g2 set iqs; members' devices (another linked Baileys session) hear each change as a
// w:gp2 notification and Baileys turns it into groups.upsert / group-participants.update / groups.update.

const ACCOUNT = "acct-groups-admin";
const ACCOUNT2 = "acct-groups-admin-2";
const jidOf = (phone: string) => `${phone}@s.whatsapp.net`;

/** Runs `fn` on the sandbox's core (to set a phone's group privacy, which no driver route sets yet). */
const onCore = <T>(fn: (core: ServerCore) => T, account = ACCOUNT) =>
  runInDurableObject(sandboxOf(account) as unknown as DurableObjectStub, (instance: unknown) => fn((instance as { world: { core: ServerCore } }).world.core));
const setAddPrivacy = (phone: string, value: "all" | "contacts" | "none", account = ACCOUNT) =>
  onCore((core) => core.store.sql.run(`UPDATE phones SET group_add_privacy = ? WHERE phone = ?`, value, phone), account);

/** Calls the session's socket inside its object; a refusal comes back as `{ error: code }`. */
function sock<T>(sessionId: string, client: Client, fn: (s: ReturnType<Client["socket"]>) => Promise<T>): Promise<T | { error: unknown; message: string }> {
  return runInDurableObject(sessionOf(sessionId), () => fn(client.socket()).catch((e: { data?: unknown; message: string }) => ({ error: e.data, message: e.message })));
}

/** The plain fields of Baileys' metadata (it holds NaN values the harness cannot carry back). */
const plain = (m: GroupMetadata) => ({
  id: m.id, subject: m.subject, size: m.size, desc: m.desc ?? null, descId: m.descId ?? null, announce: m.announce, restrict: m.restrict,
  memberAddMode: m.memberAddMode, participants: m.participants.map((p) => [p.id, p.admin ?? null]),
});

const participantEvents = (c: Client, group: string, action: ParticipantAction) =>
  c.batches.flatMap((b) => (b["group-participants.update"] ? [b["group-participants.update"]] : []))
    .filter((u) => u.id === group && u.action === action)
    .map((u) => u.participants.map((p) => (typeof p === "string" ? p : p.id)));
const groupUpdates = (c: Client, group: string) => c.batches.flatMap((b) => b["groups.update"] ?? []).filter((u) => u.id === group);

describe("sandbox groups: the admin side with the real Baileys client", () => {
  it("creates a group, changes members, info and settings; members hear each change", async () => {
    const sandbox = sandboxOf(ACCOUNT);
    const [gus, hana, ivo, jo, kim, lu] = await Promise.all(
      ["15553330001", "15553330002", "15553330003", "15553330004", "15553330005", "15553330006"].map((n, i) => sandbox.createPhone({ phone_number: n, name: ["Gus", "Hana", "Ivo", "Jo", "Kim", "Lu"][i] })),
    );
    const gusClient = await runInDurableObject(sessionOf("sess-admin-gus"), (_i, state) => linkByQr(state.storage, ACCOUNT, "sess-admin-gus", gus.phone_number));
    const hanaClient = await runInDurableObject(sessionOf("sess-admin-hana"), (_i, state) => linkByQr(state.storage, ACCOUNT, "sess-admin-hana", hana.phone_number));
    await setAddPrivacy(jo.phone_number, "none");
    await setAddPrivacy(kim.phone_number, "contacts");

    // Create: the owner is superadmin; jo's privacy refuses the add (403 with an add_request).
    const created = await sock("sess-admin-gus", gusClient, async (s) => {
      const m = await s.groupCreate("Admins", [hana, ivo, jo].map((p) => jidOf(p.phone_number)));
      return { ...plain(m), owner: m.owner };
    });
    expect(created).toMatchObject({ subject: "Admins", size: 3, owner: jidOf(gus.phone_number) });
    const group = (created as { id: string }).id;
    expect(group).toMatch(/^120363\d{12}@g\.us$/);
    // Baileys lists the refused one too (the answer names it with its error; size counts members only).
    expect((created as { participants: unknown[] }).participants).toEqual([
      [jidOf(gus.phone_number), "superadmin"], [jidOf(hana.phone_number), null], [jidOf(ivo.phone_number), null], [jidOf(jo.phone_number), null],
    ]);
    // The other member's session learns of the group.
    await expect.poll(() => hanaClient.batches.flatMap((b) => b["groups.upsert"] ?? []).find((g) => g.id === group)?.subject, poll).toBe("Admins");
    expect((await sandbox.getGroup(group)).participants.map((p) => p.phone_number)).toEqual([gus, hana, ivo].map((p) => p.phone_number));

    // Add: ivo is in already (409), kim only takes contacts (403 + add_request), an unknown number (404); jo now lets anyone add her (200).
    await setAddPrivacy(jo.phone_number, "all");
    const added = await sock("sess-admin-gus", gusClient, async (s) =>
      (await s.groupParticipantsUpdate(group, [ivo, kim, jo].map((p) => jidOf(p.phone_number)).concat(jidOf("15553339999")), "add")).map((r) => ({
        jid: r.jid, status: r.status, addRequest: (Array.isArray(r.content?.content) ? r.content.content : []).find((c) => c.tag === "add_request")?.attrs ?? null,
      })));
    expect(added).toMatchObject([
      { jid: jidOf(ivo.phone_number), status: "409", addRequest: null },
      { jid: jidOf(kim.phone_number), status: "403", addRequest: { code: expect.stringMatching(/^[\w-]{16}$/), expiration: expect.stringMatching(/^\d{10}$/) } },
      { jid: jidOf(jo.phone_number), status: "200", addRequest: null },
      { jid: jidOf("15553339999"), status: "404", addRequest: null },
    ]);
    await expect.poll(() => participantEvents(hanaClient, group, "add"), poll).toEqual([[jidOf(jo.phone_number)]]);

    // Promote and demote; a member who is not an admin is refused (401 not-authorized).
    expect(await sock("sess-admin-gus", gusClient, (s) => s.groupParticipantsUpdate(group, [jidOf(hana.phone_number)], "promote").then((r) => r.map((x) => x.status)))).toEqual(["200"]);
    await expect.poll(() => participantEvents(hanaClient, group, "promote"), poll).toEqual([[jidOf(hana.phone_number)]]);
    expect(await sock("sess-admin-gus", gusClient, (s) => s.groupParticipantsUpdate(group, [jidOf(hana.phone_number)], "demote").then((r) => r.map((x) => x.status)))).toEqual(["200"]);
    await expect.poll(() => participantEvents(hanaClient, group, "demote"), poll).toEqual([[jidOf(hana.phone_number)]]);
    expect(await sock("sess-admin-hana", hanaClient, (s) => s.groupParticipantsUpdate(group, [jidOf(ivo.phone_number)], "remove"))).toMatchObject({ error: 401, message: "not-authorized" });

    // Subject and description (the description carries the id the editor saw as `prev`).
    await sock("sess-admin-gus", gusClient, (s) => s.groupUpdateSubject(group, "Admins 2"));
    await expect.poll(() => groupUpdates(hanaClient, group).find((u) => u.subject)?.subject, poll).toBe("Admins 2");
    await sock("sess-admin-gus", gusClient, (s) => s.groupUpdateDescription(group, "first words"));
    await expect.poll(() => groupUpdates(hanaClient, group).filter((u) => "desc" in u).map((u) => u.desc), poll).toEqual(["first words"]);
    await sock("sess-admin-hana", hanaClient, (s) => s.groupUpdateDescription(group, "hana's words"));
    await expect.poll(() => groupUpdates(gusClient, group).filter((u) => "desc" in u).map((u) => u.desc), poll).toEqual(["first words", "hana's words"]);
    const afterInfo = await sock("sess-admin-hana", hanaClient, async (s) => plain(await s.groupMetadata(group)));
    expect(afterInfo).toMatchObject({ subject: "Admins 2", desc: "hana's words", descId: expect.any(String), size: 4 });

    // The four settings, each reflected in the metadata and heard by the other member.
    const settings: [Parameters<ReturnType<Client["socket"]>["groupSettingUpdate"]>[1], Partial<ReturnType<typeof plain>>][] = [
      ["announcement", { announce: true }], ["not_announcement", { announce: false }], ["locked", { restrict: true }], ["unlocked", { restrict: false }],
    ];
    for (const [setting, expected] of settings) {
      await sock("sess-admin-gus", gusClient, (s) => s.groupSettingUpdate(group, setting));
      expect(await sock("sess-admin-gus", gusClient, async (s) => plain(await s.groupMetadata(group)))).toMatchObject(expected);
      // The other member's latest update of that setting carries the new value.
      const [[key, value]] = Object.entries(expected) as [keyof typeof expected, unknown][];
      await expect.poll(() => groupUpdates(hanaClient, group).filter((u) => key in u).at(-1)?.[key as "announce" | "restrict"], poll).toBe(value);
    }
    expect(groupUpdates(hanaClient, group).filter((u) => "announce" in u || "restrict" in u).map((u) => [u.announce, u.restrict])).toEqual([
      [true, undefined], [false, undefined], [undefined, true], [undefined, false],
    ]);
    // Locked: a member who is not an admin may not edit the info; settings are admins' only.
    await sock("sess-admin-gus", gusClient, (s) => s.groupSettingUpdate(group, "locked"));
    expect(await sock("sess-admin-hana", hanaClient, (s) => s.groupUpdateSubject(group, "hana was here"))).toMatchObject({ error: 401 });
    expect(await sock("sess-admin-hana", hanaClient, (s) => s.groupSettingUpdate(group, "unlocked"))).toMatchObject({ error: 401 });

    // Member add mode.
    await sock("sess-admin-gus", gusClient, (s) => s.groupMemberAddMode(group, "all_member_add"));
    expect(await sock("sess-admin-gus", gusClient, async (s) => plain(await s.groupMetadata(group)))).toMatchObject({ memberAddMode: true, subject: "Admins 2" });
    await expect.poll(() => groupUpdates(hanaClient, group).find((u) => "memberAddMode" in u)?.memberAddMode, poll).toBe(true);
    // Now a member who is not an admin may add (and only add: promoting stays admins' own).
    expect(await sock("sess-admin-hana", hanaClient, (s) => s.groupParticipantsUpdate(group, [jidOf(lu.phone_number)], "add").then((r) => r.map((x) => x.status)))).toEqual(["200"]);
    await expect.poll(() => participantEvents(gusClient, group, "add"), poll).toEqual([[jidOf(jo.phone_number)], [jidOf(lu.phone_number)]]);
    expect(await sock("sess-admin-hana", hanaClient, (s) => s.groupParticipantsUpdate(group, [jidOf(lu.phone_number)], "promote"))).toMatchObject({ error: 401 });

    // Remove: ivo's phone gets no later group message; the members do, under a new sender key
    // (the old one, which ivo's devices could have held, is dropped when he goes).
    const senderKey = () => onCore((core) => core.store.sql.one<{ record: string }>(`SELECT record FROM sender_keys WHERE owner = ? AND name = ?`, jo.phone_number, senderKeyName(group, jo.phone_number).toString())?.record ?? null);
    const before = await sandbox.sendGroupMessage(jo.phone_number, group, { type: "text", text: "before ivo left" });
    await expect.poll(() => upsert(gusClient, before.id)?.message?.conversation, poll).toBe("before ivo left");
    const oldKey = await senderKey();
    expect(oldKey).not.toBeNull();
    expect(await sock("sess-admin-gus", gusClient, (s) => s.groupParticipantsUpdate(group, [jidOf(ivo.phone_number)], "remove").then((r) => r.map((x) => x.status)))).toEqual(["200"]);
    await expect.poll(() => participantEvents(hanaClient, group, "remove"), poll).toEqual([[jidOf(ivo.phone_number)]]);
    expect(await senderKey()).toBeNull();
    const after = await sandbox.sendGroupMessage(jo.phone_number, group, { type: "text", text: "after ivo left" });
    await expect.poll(() => upsert(gusClient, after.id)?.message?.conversation, poll).toBe("after ivo left");
    await expect.poll(() => upsert(hanaClient, after.id)?.message?.conversation, poll).toBe("after ivo left");
    expect((await sandbox.inbox(ivo.phone_number)).some((m) => m.id === after.id)).toBe(false);
    const newKey = await senderKey();
    expect(newKey).not.toBeNull();
    expect(newKey).not.toBe(oldKey);
    expect((await sandbox.inbox(hana.phone_number)).some((m) => m.id === after.id)).toBe(true);

    // Leave: the superadmin, the last admin, goes; the rest hear a remove by the leaver, and the
    // earliest-joined member is made admin (our guess of WhatsApp's hand-over).
    await sock("sess-admin-gus", gusClient, (s) => s.groupLeave(group));
    await expect.poll(() => participantEvents(hanaClient, group, "remove"), poll).toEqual([[jidOf(ivo.phone_number)], [jidOf(gus.phone_number)]]);
    // The leaver's own devices hear it too (Baileys then marks the chat read-only).
    await expect.poll(() => participantEvents(gusClient, group, "remove"), poll).toEqual([[jidOf(ivo.phone_number)], [jidOf(gus.phone_number)]]);
    await expect.poll(() => participantEvents(hanaClient, group, "promote"), poll).toEqual([[jidOf(hana.phone_number)], [jidOf(hana.phone_number)]]);
    expect((await sandbox.getGroup(group)).participants.map((p) => [p.phone_number, p.admin])).toEqual([[hana.phone_number, "admin"], [jo.phone_number, null], [lu.phone_number, null]]);
    expect(await sock("sess-admin-gus", gusClient, (s) => s.groupMetadata(group))).toMatchObject({ error: 403 });
    await runInDurableObject(sessionOf("sess-admin-gus"), () => gusClient.host.stop());
    await runInDurableObject(sessionOf("sess-admin-hana"), () => hanaClient.host.stop());
  });

  it("the session is added by a phone, accepts an add invite, is removed; the last one out ends the group", async () => {
    const sandbox = sandboxOf(ACCOUNT2);
    const [gus, hana, ivo] = await Promise.all(
      ["15553340001", "15553340002", "15553340003"].map((n, i) => sandbox.createPhone({ phone_number: n, name: ["Gus", "Hana", "Ivo"][i] })),
    );
    const client = await runInDurableObject(sessionOf("sess-admin2-gus"), (_i, state) => linkByQr(state.storage, ACCOUNT2, "sess-admin2-gus", gus.phone_number));
    const ops = <T>(fn: (core: ServerCore) => T) => onCore(fn, ACCOUNT2);

    // A phone adds the session's account to its group: Baileys upserts the group and hears the add.
    const first = await ops((core) => createGroup(core, core.phoneRow(hana.phone_number)!, "Hana's", [ivo.phone_number]).group.jid);
    expect(await ops((core) => changeParticipants(core, hana.phone_number, first, "add", [gus.phone_number]))).toEqual([{ phone: gus.phone_number, status: 200 }]);
    await expect.poll(() => client.batches.flatMap((b) => b["groups.upsert"] ?? []).find((g) => g.id === first)?.participants.map((p) => p.id), poll)
      .toEqual([hana, ivo, gus].map((p) => jidOf(p.phone_number)));
    await expect.poll(() => participantEvents(client, first, "add"), poll).toEqual([[jidOf(gus.phone_number)]]);

    // Removed by the admin: Baileys hears it, and the group's next message does not reach it (a
    // later direct message, sent after, does: the device's stanzas keep their order).
    expect(await ops((core) => changeParticipants(core, hana.phone_number, first, "remove", [gus.phone_number]))).toEqual([{ phone: gus.phone_number, status: 200 }]);
    await expect.poll(() => participantEvents(client, first, "remove"), poll).toEqual([[jidOf(gus.phone_number)]]);
    const inGroup = await sandbox.sendGroupMessage(hana.phone_number, first, { type: "text", text: "without gus" });
    const direct = await sandbox.sendMessage(hana.phone_number, { to: gus.phone_number, type: "text", text: "you were removed" });
    await expect.poll(() => upsert(client, direct.id)?.message?.conversation, poll).toBe("you were removed");
    expect(upsert(client, inGroup.id)).toBeUndefined();
    expect(inGroup.delivered_to_devices).toBe(0);
    expect(await sock("sess-admin2-gus", client, (s) => s.groupMetadata(first))).toMatchObject({ error: 403 });
    // No longer a member: every change is refused with 403 forbidden.
    expect(await sock("sess-admin2-gus", client, (s) => s.groupUpdateSubject(first, "mine"))).toMatchObject({ error: 403 });
    expect(await sock("sess-admin2-gus", client, (s) => s.groupSettingUpdate(first, "locked"))).toMatchObject({ error: 403 });
    expect(await sock("sess-admin2-gus", client, (s) => s.groupParticipantsUpdate(first, [jidOf(gus.phone_number)], "add"))).toMatchObject({ error: 403 });
    expect(await sock("sess-admin2-gus", client, (s) => s.groupUpdateDescription(first, "mine"))).toMatchObject({ error: 403 });

    // The account refuses direct adds: the phone's create lists it as 403 with an invite, which
    // the session accepts (Baileys groupAcceptInviteV4); a wrong code is refused, an invite is used once.
    await setAddPrivacy(gus.phone_number, "none", ACCOUNT2);
    const second = await ops((core) => {
      const { group, results } = createGroup(core, core.phoneRow(hana.phone_number)!, "Invite only", [gus.phone_number, ivo.phone_number]);
      return { jid: group.jid, results };
    });
    expect(second.results).toMatchObject([{ phone: gus.phone_number, status: 403, addRequest: { code: expect.any(String), expiration: expect.any(Number) } }, { phone: ivo.phone_number, status: 200 }]);
    const invite = second.results[0].addRequest!;
    const accept = (code: string) => sock("sess-admin2-gus", client, (s) =>
      s.groupAcceptInviteV4(jidOf(hana.phone_number), { groupJid: second.jid, inviteCode: code, inviteExpiration: invite.expiration, groupName: "Invite only" }));
    expect(await accept("not-the-code")).toMatchObject({ error: 406 });
    // The invite names the admin who left it: another one is refused too.
    expect(await sock("sess-admin2-gus", client, (s) =>
      s.groupAcceptInviteV4(jidOf(ivo.phone_number), { groupJid: second.jid, inviteCode: invite.code, inviteExpiration: invite.expiration, groupName: "Invite only" }))).toMatchObject({ error: 406 });
    // A join request the invitee had pending goes when it gets in (by any path).
    await ops((core) => core.groups.putRequest(second.jid, gus.phone_number, "invite_link"));
    expect(await accept(invite.code)).toBe(second.jid);
    expect(await ops((core) => core.groups.hasRequest(second.jid, gus.phone_number))).toBe(false);
    await expect.poll(() => client.batches.flatMap((b) => b["groups.upsert"] ?? []).find((g) => g.id === second.jid)?.subject, poll).toBe("Invite only");
    expect((await sandbox.getGroup(second.jid)).participants.map((p) => p.phone_number)).toEqual([hana, ivo, gus].map((p) => p.phone_number));
    expect(await accept(invite.code)).toMatchObject({ error: 409 });
    await expect(ops((core) => acceptAddInvite(core, ivo.phone_number, second.jid, invite.code))).rejects.toThrow(/409 conflict/);

    // The creator's rank: another admin may neither remove nor demote it (406).
    await ops((core) => changeParticipants(core, hana.phone_number, second.jid, "promote", [ivo.phone_number]));
    expect(await ops((core) => changeParticipants(core, ivo.phone_number, second.jid, "remove", [hana.phone_number]))).toEqual([{ phone: hana.phone_number, status: 406 }]);
    expect(await ops((core) => changeParticipants(core, ivo.phone_number, second.jid, "demote", [hana.phone_number]))).toEqual([{ phone: hana.phone_number, status: 406 }]);
    expect((await sandbox.getGroup(second.jid)).participants.find((p) => p.phone_number === hana.phone_number)?.admin).toBe("superadmin");
    await expect(ops((core) => changeParticipants(core, hana.phone_number, second.jid, "kick" as "add", [ivo.phone_number]))).rejects.toThrow(/400 bad-request/);

    // The last member out ends the group, and its sender keys go with it.
    await sandbox.sendGroupMessage(ivo.phone_number, second.jid, { type: "text", text: "last words" });
    for (const p of [gus, hana]) await ops((core) => leaveGroup(core, p.phone_number, second.jid));
    await ops((core) => leaveGroup(core, ivo.phone_number, second.jid));
    expect(await ops((core) => ({
      group: core.groups.group(second.jid) ?? null,
      keys: core.store.sql.all(`SELECT name FROM sender_keys WHERE name LIKE ?`, `${second.jid}%`).length,
    }))).toEqual({ group: null, keys: 0 });

    // Removing the last member ends a group as leaving does.
    const alone = await ops((core) => createGroup(core, core.phoneRow(hana.phone_number)!, "Alone", []).group.jid);
    expect(await ops((core) => changeParticipants(core, hana.phone_number, alone, "remove", [hana.phone_number]))).toEqual([{ phone: hana.phone_number, status: 200 }]);
    expect(await ops((core) => core.groups.group(alone) ?? null)).toBeNull();

    // A full group (WhatsApp's 1024) takes no one more, by invite or by link (419).
    const full = await ops((core) => {
      const { group, results } = createGroup(core, core.phoneRow(hana.phone_number)!, "Full", [gus.phone_number]);
      for (let i = 0; core.groups.members(group.jid).length < GROUP_MAX; i++) core.groups.setMember(group.jid, `1999${String(i).padStart(7, "0")}`, null);
      core.groups.update(group.jid, { invite_code: "FULLGROUPCODE000000000A" });
      return { jid: group.jid, code: results[0].addRequest!.code };
    });
    await expect(ops((core) => acceptAddInvite(core, gus.phone_number, full.jid, full.code, hana.phone_number))).rejects.toThrow(/419 resource-constraint/);
    await expect(ops((core) => joinByCode(core, ivo.phone_number, "FULLGROUPCODE000000000A"))).rejects.toThrow(/419 resource-constraint/);
    await runInDurableObject(sessionOf("sess-admin2-gus"), () => client.host.stop());
  });

  it("refuses malformed or stale changes with the server's codes", async () => {
    const accountId = "acct-groups-admin-3";
    const sandbox = sandboxOf(accountId);
    const [gus, hana, jo] = await Promise.all(["15553350001", "15553350002", "15553350003"].map((n) => sandbox.createPhone({ phone_number: n })));
    const client = await runInDurableObject(sessionOf("sess-admin3"), (_i, state) => linkByQr(state.storage, accountId, "sess-admin3", gus.phone_number));
    await setAddPrivacy(jo.phone_number, "none", accountId);
    const iq = (to: string, content: BinaryNode) => sock("sess-admin3", client, (s) => s.query({ tag: "iq", attrs: { type: "set", xmlns: "w:g2", to }, content: [content] }));

    // Create as whatsmeow sends it (settings as children); a refused participant is listed with its error and invite.
    const created = await iq("@g.us", { tag: "create", attrs: { subject: "Raw", key: "KEY1" }, content: [
      { tag: "participant", attrs: { jid: jidOf(hana.phone_number) } },
      { tag: "participant", attrs: { jid: jidOf(jo.phone_number) } },
      { tag: "member_add_mode", attrs: {}, content: "all_member_add" },
      { tag: "locked", attrs: {} },
    ] }) as BinaryNode;
    const groupNode = (created.content as BinaryNode[]).find((c) => c.tag === "group")!;
    const group = `${groupNode.attrs.id}@g.us`;
    const parts = (groupNode.content as BinaryNode[]).filter((c) => c.tag === "participant");
    expect(parts.map((p) => [p.attrs.jid, p.attrs.type ?? p.attrs.error])).toEqual([[jidOf(gus.phone_number), "superadmin"], [jidOf(hana.phone_number), undefined], [jidOf(jo.phone_number), "403"]]);
    expect((parts[2].content as BinaryNode[])[0]).toMatchObject({ tag: "add_request", attrs: { code: expect.any(String), expiration: expect.any(String) } });
    expect(groupNode.attrs.size).toBe("2");
    const meta = await sock("sess-admin3", client, async (s) => plain(await s.groupMetadata(group)));
    expect(meta).toMatchObject({ restrict: true, announce: false, memberAddMode: true });
    // The creator's own device hears the create too (Baileys upserts the group).
    await expect.poll(() => client.batches.flatMap((b) => b["groups.upsert"] ?? []).find((g) => g.id === group)?.subject, poll).toBe("Raw");

    expect(await iq(group, { tag: "subject", attrs: {}, content: Buffer.from("   ") })).toMatchObject({ error: 400 });
    expect(await iq(group, { tag: "subject", attrs: {}, content: Buffer.from("x".repeat(101)) })).toMatchObject({ error: 406 });
    expect(await iq(group, { tag: "member_add_mode", attrs: {}, content: "everyone" })).toMatchObject({ error: 400 });
    expect(await iq(group, { tag: "add", attrs: {} })).toMatchObject({ error: 400 });
    expect(await iq("120363000000000001@g.us", { tag: "subject", attrs: {}, content: Buffer.from("x") })).toMatchObject({ error: 404 });
    // A participant named by its LID is found; the answer echoes the jid asked for.
    const byLid = await iq(group, { tag: "promote", attrs: {}, content: [{ tag: "participant", attrs: { jid: hana.lid } }] }) as BinaryNode;
    expect((byLid.content as BinaryNode[])[0].content).toMatchObject([{ tag: "participant", attrs: { jid: hana.lid } }]);
    expect((await sandbox.getGroup(group)).participants.find((p) => p.phone_number === hana.phone_number)?.admin).toBe("admin");
    // Description: a stale `prev` is refused (409); the current one replaces it; delete clears it.
    await sock("sess-admin3", client, (s) => s.groupUpdateDescription(group, "one"));
    const descId = (await sock("sess-admin3", client, async (s) => plain(await s.groupMetadata(group))) as { descId: string }).descId;
    const body = (text: string) => [{ tag: "body", attrs: {}, content: Buffer.from(text) }];
    expect(await iq(group, { tag: "description", attrs: { id: "NEW1", prev: "STALE" }, content: body("two") })).toMatchObject({ error: 409 });
    expect(await iq(group, { tag: "description", attrs: { id: "NEW2" }, content: body("two") })).toMatchObject({ error: 409 });
    await iq(group, { tag: "description", attrs: { id: "NEW3", prev: descId }, content: body("two") });
    expect(await sock("sess-admin3", client, async (s) => plain(await s.groupMetadata(group)))).toMatchObject({ desc: "two", descId: "NEW3" });
    await sock("sess-admin3", client, (s) => s.groupUpdateDescription(group, ""));
    expect(await sock("sess-admin3", client, async (s) => plain(await s.groupMetadata(group)))).toMatchObject({ desc: null, descId: null });

    // Picture (raw iq as Baileys updateProfilePicture sends it, without its image resizing): a JPEG
    // is taken and the members hear a `picture` notification; anything else is refused (406).
    const picture = (content?: Buffer) => sock("sess-admin3", client, (s) => s.query({
      tag: "iq", attrs: { to: "s.whatsapp.net", type: "set", xmlns: "w:profile:picture", target: group },
      content: content ? [{ tag: "picture", attrs: { type: "image" }, content }] : undefined,
    }));
    const set = await picture(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4])) as BinaryNode;
    const pictureId = (set.content as BinaryNode[])[0].attrs.id;
    expect(pictureId).toMatch(/^\d+$/);
    const iconChanges = () => client.batches.flatMap((b) => b["contacts.update"] ?? []).filter((u) => u.id === group).map((u) => u.imgUrl);
    await expect.poll(iconChanges, poll).toEqual(["changed"]);
    // The picture's URL (Baileys profilePictureUrl) serves its bytes from the media host.
    const url = await sock("sess-admin3", client, (s) => s.profilePictureUrl(group, "image"));
    expect(url).toMatch(/^https:\/\/[^/]+\/v\//);
    const served = await sandbox.fetch(url as string);
    expect(served.status).toBe(200);
    expect([...new Uint8Array(await served.arrayBuffer())]).toEqual([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
    expect(await picture(Buffer.from("\x89PNG\r\n"))).toMatchObject({ error: 406 });
    await picture();
    await expect.poll(iconChanges, poll).toEqual(["changed", "removed"]);
    expect(await sock("sess-admin3", client, (s) => s.profilePictureUrl(group, "image"))).toMatchObject({ error: 404, message: "item-not-found" });

    // The add invite jo's refusal left is withdrawn (Baileys groupRevokeInviteV4); then there is none to accept.
    expect((await sandbox.getGroup(group)).add_invites.map((i) => [i.phone_number, i.admin])).toEqual([[jo.phone_number, gus.phone_number]]);
    expect(await sock("sess-admin3", client, (s) => s.groupRevokeInviteV4(group, jidOf(jo.phone_number)))).toBe(true);
    expect((await sandbox.getGroup(group)).add_invites).toEqual([]);
    expect(await sock("sess-admin3", client, (s) => s.groupRevokeInviteV4(group, jidOf(jo.phone_number)))).toMatchObject({ error: 404 });
    const joCode = (parts[2].content as BinaryNode[])[0].attrs.code;
    await expect(onCore((core) => acceptAddInvite(core, jo.phone_number, group, joCode, gus.phone_number), accountId)).rejects.toThrow(/404 item-not-found/);
    await runInDurableObject(sessionOf("sess-admin3"), () => client.host.stop());
  });
});
