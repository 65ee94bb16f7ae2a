import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { BinaryNode } from "baileys";
import { type Client, linkByQr, poll, sandboxOf, sessionOf, upsert } from "../helpers/sandbox-client";
import type { SandboxObject } from "../../src/sandbox/sandbox.do";

/**
 * A driver call expected to fail, made on the sandbox object itself: its error message. (Through
 * the RPC stub, a rejection is also reported by workerd as an uncaught promise.)
 */
const refusal = (sandbox: ReturnType<typeof sandboxOf>, fn: (o: SandboxObject) => Promise<unknown>) =>
  runInDurableObject(sandbox as unknown as DurableObjectStub, (o: unknown) => fn(o as SandboxObject).then(() => undefined, (e: Error) => e));

// Invite links, joining by link and join requests over the real protocol: the real Baileys client
// asks the sandbox with its own w:g2 iqs (groupInviteCode, groupRevokeInvite, groupGetInviteInfo,
// groupAcceptInvite, groupJoinApprovalMode, groupRequestParticipantsList/Update) and hears the
// w:gp2 notifications; simulated phones join through the driver.

const jid = (phone: string) => `${phone}@s.whatsapp.net`;

/** Runs a socket call inside the session object; a refusal comes back as the server's code (Baileys puts it in Boom `data`). */
async function call<T>(sessionId: string, client: Client, fn: (sock: ReturnType<Client["socket"]>) => Promise<T>): Promise<{ ok: T } | { code: number }> {
  return runInDurableObject(sessionOf(sessionId), async () => {
    try {
      return { ok: await fn(client.socket()) };
    } catch (err) {
      return { code: Number((err as { data?: unknown }).data) };
    }
  });
}

const events = <K extends "group-participants.update" | "groups.update" | "group.join-request" | "groups.upsert">(c: Client, name: K) =>
  c.batches.flatMap((b) => {
    const e = b[name];
    return (Array.isArray(e) ? e : e ? [e] : []) as unknown[];
  }) as Record<string, unknown>[];

const codeOf = (link: string) => link.split("/").pop()!;

/** Every w:gp2 notification the session's socket receives from now on, as raw nodes (Baileys emits no event for some). */
function gp2Notifications(sessionId: string, client: Client): Promise<BinaryNode[]> {
  const seen: BinaryNode[] = [];
  return runInDurableObject(sessionOf(sessionId), () => {
    client.socket().ws.on("CB:notification,type:w:gp2", (n: BinaryNode) => seen.push(n));
    return seen;
  });
}
const childTags = (nodes: BinaryNode[], group: string) => nodes.filter((n) => n.attrs.from === group).flatMap((n) => (n.content as BinaryNode[]).map((c) => c.tag));

describe("sandbox group invites and join requests with the real Baileys client", () => {
  it("the admin session gets and revokes the link; a phone joins by it; the old link is dead; invite info", async () => {
    const accountId = "acct-invites-1";
    const sessionId = "sess-invites-1";
    const sandbox = sandboxOf(accountId);
    const me = await sandbox.createPhone({ phone_number: "15553330001", name: "Me" });
    const owner = await sandbox.createPhone({ phone_number: "15553330002", name: "Olga" });
    const joiner = await sandbox.createPhone({ phone_number: "15553330003", name: "Jon" });
    const client = await runInDurableObject(sessionOf(sessionId), (_i, state) => linkByQr(state.storage, accountId, sessionId, me.phone_number));
    const group = await sandbox.createGroup(owner.phone_number, { subject: "Book club", members: [me.phone_number] });
    await expect.poll(() => events(client, "groups.upsert").some((g) => g.id === group.jid), poll).toBe(true);

    // Not an admin yet: the server refuses the link with 401 (whatsmeow ErrGroupInviteLinkUnauthorized).
    expect(await call(sessionId, client, (s) => s.groupInviteCode(group.jid))).toEqual({ code: 401 });
    // A link reset is told to admins only: the owner resets it, then sets a description; the session
    // (a plain member) hears the description and, before it, no new link.
    const seen = await gp2Notifications(sessionId, client);
    await sandbox.groupInviteLink(owner.phone_number, group.jid);
    await sandbox.groupInviteLink(owner.phone_number, group.jid, { reset: true });
    await sandbox.updateGroup(owner.phone_number, group.jid, { description: "reading list" });
    await expect.poll(() => childTags(seen, group.jid), poll).toContain("description");
    expect(childTags(seen, group.jid)).toEqual(["description"]);
    await sandbox.changeGroupParticipants(owner.phone_number, group.jid, "promote", [me.phone_number]);

    const first = await call(sessionId, client, (s) => s.groupInviteCode(group.jid));
    const code = (first as { ok: string }).ok;
    expect(code).toMatch(/^[A-Za-z0-9]{22}$/);
    // Asking again gives the same code; the world shows it.
    expect(await call(sessionId, client, (s) => s.groupInviteCode(group.jid))).toEqual({ ok: code });
    expect((await sandbox.getGroup(group.jid)).invite_code).toBe(code);

    // Invite info: the group the code opens, without joining.
    const info = await call(sessionId, client, async (s) => {
      const m = await s.groupGetInviteInfo(code);
      return { id: m.id, subject: m.subject, size: m.size, owner: m.owner };
    });
    expect(info).toEqual({ ok: { id: group.jid, subject: "Book club", size: 2, owner: jid(owner.phone_number) } });

    // A phone joins by the link: every member's device hears `add`.
    const joined = await sandbox.joinGroupByLink(joiner.phone_number, `https://chat.whatsapp.com/${code}`);
    expect(joined).toEqual({ status: "joined", group_jid: group.jid });
    await expect.poll(() => events(client, "group-participants.update").find((e) => e.id === group.jid && e.action === "add"), poll).toMatchObject({
      author: jid(joiner.phone_number),
      participants: [expect.objectContaining({ id: jid(joiner.phone_number) })],
    });
    expect((await sandbox.getGroup(group.jid)).participants.map((p) => p.phone_number)).toContain(joiner.phone_number);
    const again = (await refusal(sandbox, (o) => o.joinGroupByLink(joiner.phone_number, `https://chat.whatsapp.com/${code}`)))?.message;
    expect(again).toMatch(/^\[409\] /);

    // Revoke: a new code; the admin's device hears the new link; the old one answers 410, an unknown one 406.
    const revoked = await call(sessionId, client, (s) => s.groupRevokeInvite(group.jid));
    const fresh = (revoked as { ok: string }).ok;
    expect(fresh).toMatch(/^[A-Za-z0-9]{22}$/);
    expect(fresh).not.toBe(code);
    await expect.poll(() => events(client, "groups.update").find((u) => u.id === group.jid && u.inviteCode)?.inviteCode, poll).toBe(fresh);
    expect(await call(sessionId, client, (s) => s.groupGetInviteInfo(code))).toEqual({ code: 410 });
    expect(await call(sessionId, client, (s) => s.groupGetInviteInfo("AAAAAAAAAAAAAAAAAAAAAA"))).toEqual({ code: 406 });
    const late = await sandbox.createPhone({ phone_number: "15553330004" });
    const refused = (await refusal(sandbox, (o) => o.joinGroupByLink(late.phone_number, `https://chat.whatsapp.com/${code}`)))?.message;
    expect(refused).toMatch(/^\[410\] /);
    const unknown = (await refusal(sandbox, (o) => o.joinGroupByLink(late.phone_number, "https://chat.whatsapp.com/AAAAAAAAAAAAAAAAAAAAAA")))?.message;
    expect(unknown).toMatch(/^\[404\] /);
    expect((await sandbox.getGroup(group.jid)).participants.map((p) => p.phone_number)).not.toContain(late.phone_number);

    // A phone's changes through the driver reach the session as the server's notifications.
    await sandbox.updateGroup(owner.phone_number, group.jid, { subject: "Book club II" });
    await expect.poll(() => events(client, "groups.update").find((u) => u.id === group.jid && u.subject)?.subject, poll).toBe("Book club II");
    await runInDurableObject(sessionOf(sessionId), () => client.host.stop());
  });

  it("approval on: a phone's request reaches the admin session, which lists, approves and rejects", async () => {
    const accountId = "acct-invites-2";
    const sessionId = "sess-invites-2";
    const sandbox = sandboxOf(accountId);
    const me = await sandbox.createPhone({ phone_number: "15553340001", name: "Me" });
    const owner = await sandbox.createPhone({ phone_number: "15553340002", name: "Olga" });
    const ana = await sandbox.createPhone({ phone_number: "15553340003", name: "Ana" });
    const bo = await sandbox.createPhone({ phone_number: "15553340004", name: "Bo" });
    const client = await runInDurableObject(sessionOf(sessionId), (_i, state) => linkByQr(state.storage, accountId, sessionId, me.phone_number));
    const group = await sandbox.createGroup(owner.phone_number, { subject: "Closed", members: [me.phone_number] });
    await sandbox.changeGroupParticipants(owner.phone_number, group.jid, "promote", [me.phone_number]);

    expect(await call(sessionId, client, (s) => s.groupJoinApprovalMode(group.jid, "on"))).toEqual({ ok: undefined });
    await expect.poll(() => events(client, "groups.update").find((u) => u.id === group.jid && u.joinApprovalMode !== undefined)?.joinApprovalMode, poll).toBe(true);
    const meta = await call(sessionId, client, async (s) => (await s.groupMetadata(group.jid)).joinApprovalMode);
    expect(meta).toEqual({ ok: true });

    const { link } = await sandbox.groupInviteLink(owner.phone_number, group.jid);
    expect(await sandbox.joinGroupByLink(ana.phone_number, link)).toEqual({ status: "pending", group_jid: group.jid });
    expect(await sandbox.joinGroupByLink(bo.phone_number, link)).toEqual({ status: "pending", group_jid: group.jid });
    // Baileys turns `created_membership_requests` into group.join-request.
    await expect.poll(() => events(client, "group.join-request").filter((e) => e.id === group.jid).map((e) => [e.participant, e.action, e.method]), poll).toEqual([
      [jid(ana.phone_number), "created", "invite_link"],
      [jid(bo.phone_number), "created", "invite_link"],
    ]);
    expect((await sandbox.getGroup(group.jid)).participants.map((p) => p.phone_number)).not.toContain(ana.phone_number);

    const listed = await call(sessionId, client, (s) => s.groupRequestParticipantsList(group.jid));
    expect((listed as { ok: { jid: string; request_time: string }[] }).ok.map((r) => r.jid)).toEqual([jid(ana.phone_number), jid(bo.phone_number)]);
    expect(Number((listed as { ok: { request_time: string }[] }).ok[0].request_time)).toBeGreaterThan(1_700_000_000);

    // The same requester twice is answered once; one asked by LID is answered by LID; a member has no request (409).
    const approved = await call(sessionId, client, (s) => s.groupRequestParticipantsUpdate(group.jid, [ana.lid, ana.lid, jid(owner.phone_number)], "approve"));
    expect(approved).toEqual({ ok: [{ status: "200", jid: ana.lid }, { status: "409", jid: jid(owner.phone_number) }] });
    await expect.poll(() => events(client, "group-participants.update").find((e) => e.id === group.jid && e.action === "add"), poll).toMatchObject({
      author: jid(me.phone_number),
      participants: [expect.objectContaining({ id: jid(ana.phone_number) })],
    });
    const rejected = await call(sessionId, client, (s) => s.groupRequestParticipantsUpdate(group.jid, [jid(bo.phone_number)], "reject"));
    expect(rejected).toEqual({ ok: [{ status: "200", jid: jid(bo.phone_number) }] });
    await expect.poll(() => events(client, "group.join-request").find((e) => e.id === group.jid && e.action === "rejected")?.participant, poll).toBe(jid(bo.phone_number));

    const view = await sandbox.getGroup(group.jid);
    expect(view.participants.map((p) => p.phone_number)).toEqual([owner.phone_number, me.phone_number, ana.phone_number]);
    expect(view.pending_requests).toEqual([]);
    expect(await call(sessionId, client, (s) => s.groupRequestParticipantsList(group.jid))).toEqual({ ok: [] });

    // A member who is not an admin manages nothing, and nothing changes.
    expect(await sandbox.joinGroupByLink(bo.phone_number, link)).toEqual({ status: "pending", group_jid: group.jid });
    await sandbox.changeGroupParticipants(owner.phone_number, group.jid, "demote", [me.phone_number]);
    expect(await call(sessionId, client, (s) => s.groupRequestParticipantsList(group.jid))).toEqual({ code: 401 });
    expect(await call(sessionId, client, (s) => s.groupJoinApprovalMode(group.jid, "off"))).toEqual({ code: 401 });
    expect(await call(sessionId, client, (s) => s.groupRequestParticipantsUpdate(group.jid, [jid(bo.phone_number)], "approve"))).toEqual({ code: 401 });
    expect(await call(sessionId, client, (s) => s.groupRevokeInvite(group.jid))).toEqual({ code: 401 });
    const unchanged = await sandbox.getGroup(group.jid);
    expect(unchanged.invite_code).toBe(codeOf(link));
    expect(unchanged.join_approval).toBe(true);
    expect(unchanged.pending_requests.map((r) => r.phone_number)).toEqual([bo.phone_number]);
    expect(unchanged.participants.map((p) => p.phone_number)).not.toContain(bo.phone_number);
    await runInDurableObject(sessionOf(sessionId), () => client.host.stop());
  });

  it("the session joins a phone's group by code and receives its messages; with approval it waits", async () => {
    const accountId = "acct-invites-3";
    const sessionId = "sess-invites-3";
    const sandbox = sandboxOf(accountId);
    const me = await sandbox.createPhone({ phone_number: "15553350001", name: "Me" });
    const owner = await sandbox.createPhone({ phone_number: "15553350002", name: "Olga" });
    const other = await sandbox.createPhone({ phone_number: "15553350003", name: "Pia" });
    const client = await runInDurableObject(sessionOf(sessionId), (_i, state) => linkByQr(state.storage, accountId, sessionId, me.phone_number));
    const group = await sandbox.createGroup(owner.phone_number, { subject: "Open house", members: [other.phone_number] });
    const { code } = await sandbox.groupInviteLink(owner.phone_number, group.jid);

    expect(await call(sessionId, client, (s) => s.groupAcceptInvite(code))).toEqual({ ok: group.jid });
    // The new member's device learns the group (groups.upsert), and the others hear the add.
    await expect.poll(() => events(client, "groups.upsert").find((g) => g.id === group.jid)?.subject, poll).toBe("Open house");
    expect((await sandbox.getGroup(group.jid)).participants.map((p) => p.phone_number)).toEqual([owner.phone_number, other.phone_number, me.phone_number]);
    expect(await call(sessionId, client, (s) => s.groupAcceptInvite(code))).toEqual({ code: 409 });

    const sent = await sandbox.sendGroupMessage(owner.phone_number, group.jid, { type: "text", text: "welcome to the house" });
    expect(sent.delivered_to_devices).toBe(1);
    await expect.poll(() => upsert(client, sent.id)?.message?.conversation, poll).toBe("welcome to the house");
    expect(upsert(client, sent.id)!.key).toMatchObject({ remoteJid: group.jid, participant: jid(owner.phone_number) });
    // And the session's own message reaches the members who were there before it.
    const out = await runInDurableObject(sessionOf(sessionId), () => client.socket().sendMessage(group.jid, { text: "thanks!" }));
    await expect.poll(async () => (await sandbox.inbox(other.phone_number)).find((m) => m.id === out!.key.id)?.text, poll).toBe("thanks!");

    // A group that wants approval: the session's join waits as a request (no <group> in the answer).
    const closed = await sandbox.createGroup(owner.phone_number, { subject: "Closed house", members: [other.phone_number] });
    await sandbox.updateGroup(owner.phone_number, closed.jid, { join_approval: true });
    const closedLink = await sandbox.groupInviteLink(owner.phone_number, closed.jid);
    // Not a member: no link for it (403 forbidden, whatsmeow ErrNotInGroup).
    expect(await call(sessionId, client, (s) => s.groupInviteCode(closed.jid))).toEqual({ code: 403 });
    const seen = await gp2Notifications(sessionId, client);
    expect(await call(sessionId, client, (s) => s.groupAcceptInvite(closedLink.code))).toEqual({ ok: undefined });
    // The requester's own devices hear that its request waits (whatsapp-rust MembershipApprovalRequest).
    await expect.poll(() => seen.filter((n) => n.attrs.from === closed.jid).map((n) => [n.attrs.participant, (n.content as BinaryNode[])[0].tag, (n.content as BinaryNode[])[0].attrs.request_method]), poll)
      .toEqual([[jid(me.phone_number), "membership_approval_request", "invite_link"]]);
    const view = await sandbox.getGroup(closed.jid);
    expect(view.pending_requests.map((r) => [r.phone_number, r.method])).toEqual([[me.phone_number, "invite_link"]]);
    expect(view.participants.map((p) => p.phone_number)).not.toContain(me.phone_number);
    // The owner approves from its phone: the session is in, and hears of the group.
    const answered = await sandbox.answerGroupRequests(owner.phone_number, closed.jid, "approve", [me.phone_number]);
    expect(answered.participants).toEqual([{ phone_number: me.phone_number, status: 200, add_request: null }]);
    await expect.poll(() => events(client, "groups.upsert").find((g) => g.id === closed.jid)?.subject, poll).toBe("Closed house");
    await runInDurableObject(sessionOf(sessionId), () => client.host.stop());
  });
});
