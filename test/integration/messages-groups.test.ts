import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { receiptStatements } from "../../src/db/messages.receipts";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { balanceOf, connectedSession, send } from "../helpers/messages";
import { poll, sandboxOf, sessionOf } from "../helpers/sandbox-client";
import { createPhone } from "../helpers/sessions";

// Sending into groups through the Worker: D1 → session outbox → Baileys (sender keys) → the
// sandbox server, where every member phone decrypts the message; receipts come back per
// participant (`<receipt from=group participant=member>`).

const MANUAL = { receipt_policy: { delivered: "manual", read: "manual" } };
let account: TestAccount;
let session: { id: string; phone_number: string };
let hana: string;
let ivo: string;
let group: string;

beforeAll(async () => {
  account = await createAccount({ balance: 10_000, message_cost: 10, plan: "pro" });
  session = await connectedSession(account.key);
  hana = (await createPhone(account.key, { name: "Hana", ...MANUAL })).phone_number;
  ivo = (await createPhone(account.key, { name: "Ivo", ...MANUAL })).phone_number;
  group = (await sandboxOf(account.id).createGroup(hana, { subject: "Team", members: [session.phone_number, ivo] })).jid;
  // Notes each batch of group receipts the session handled (after handling it).
  await inside((o) => {
    const receipts = o.lifecycle.p.receipts;
    const handle = receipts.onGroupReceipts.bind(receipts);
    o.seenGroupReceipts = [];
    receipts.onGroupReceipts = async (config: unknown, updates: any[], socket: unknown) => {
      await handle(config, updates, socket);
      o.seenGroupReceipts.push(...updates.map((u) => ({ id: u.key.id, user: u.receipt.userJid })));
    };
  });
}, 60_000);

/** How many receipts of this message from `phone` the session has handled. */
const handledReceipts = (providerId: string, phone: string) =>
  inside((o) => (o.seenGroupReceipts as { id: string; user: string }[]).filter((r) => r.id === providerId && r.user === `${phone}@s.whatsapp.net`).length);

const toGroup = (extra: Record<string, unknown>) => ({ whatsapp_session_id: session.id, to_number: [group], ...extra });

async function sendOk(body: Record<string, unknown>, key = account.key) {
  const res = await send(key, body);
  expect(res.status, res.text).toBe(201);
  return res.json.data.messages[0];
}

async function message(id: string) {
  return (await call("GET", `/v1/whatsapp/messages/${id}`, { key: account.key })).json.data;
}

/** Waits until the message reaches `status`, then returns it. */
async function reach(id: string, status: string) {
  await expect.poll(async () => (await message(id)).status, poll).toBe(status);
  return message(id);
}

async function inboxEntry(phone: string, providerId: string) {
  let found: any;
  await expect
    .poll(async () => {
      const res = await call("GET", `/v1/sandbox/phones/${phone}/inbox`, { key: account.key });
      found = (res.json.messages as any[]).find((m) => m.id === providerId);
      return found !== undefined;
    }, poll)
    .toBe(true);
  return found;
}

async function receipts(id: string, key = account.key) {
  return call("GET", `/v1/whatsapp/messages/${id}/receipts`, { key });
}

async function phoneReceipt(phone: string, ids: string[], type: "delivered" | "read") {
  const res = await call("POST", `/v1/sandbox/phones/${phone}/receipts`, { key: account.key, body: { ids, type } });
  expect(res.status, res.text).toBe(200);
}

describe("sending into a group", () => {
  it("reaches every member with the group id, costs one message, and follows the first participant's receipts", async () => {
    const before = await balanceOf(account.key);
    const res = await send(account.key, toGroup({ type: "text", content: "Hello team" }));
    expect(res.status, res.text).toBe(201);
    expect(res.json.data).toMatchObject({ count: 1, total_cost: 10, new_balance: before - 10 });
    const row = res.json.data.messages[0];
    expect(row).toMatchObject({ to_number: group, status: "queued", cost: 10 });

    const sent = await reach(row.id, "sent");
    for (const phone of [hana, ivo]) {
      expect(await inboxEntry(phone, sent.provider_message_id)).toMatchObject({
        direction: "in", from: session.phone_number, group_jid: group, participant: session.phone_number, text: "Hello team",
      });
    }
    // The session's own phone answers our message with a `sender` receipt (as WhatsApp's does):
    // once the session handled it, the message is still `sent`, nothing is journaled, and after
    // a flush the group message lists no receipts.
    await expect.poll(() => handledReceipts(sent.provider_message_id, session.phone_number), poll).toBe(1);
    expect(await inside((o) => o.ctx.storage.sql.exec("SELECT count(*) AS n FROM receipt_journal WHERE message_id = ?", row.id).one().n)).toBe(0);
    await inside((o) => o.flusher.flush());
    expect((await message(row.id)).status).toBe("sent");
    expect((await receipts(row.id)).json).toEqual({ success: true, data: { receipts: [] } });

    await phoneReceipt(hana, [sent.provider_message_id], "delivered");
    const delivered = await reach(row.id, "delivered");
    await expect.poll(async () => (await receipts(row.id)).json.data.receipts, poll).toEqual([
      { phone_number: hana, lid: null, delivered_at: delivered.delivered_at, read_at: null },
    ]);

    await phoneReceipt(ivo, [sent.provider_message_id], "read");
    const read = await reach(row.id, "read");
    expect(read.delivered_at).toBe(delivered.delivered_at);
    await expect.poll(async () => (await receipts(row.id)).json.data.receipts.length, poll).toBe(2);
    // Receipt times are WhatsApp's (whole seconds): both may share one, so compare by number.
    const both = ((await receipts(row.id)).json.data.receipts as any[]).sort((a, b) => a.phone_number.localeCompare(b.phone_number));
    expect(both).toEqual(
      [
        { phone_number: hana, lid: null, delivered_at: delivered.delivered_at, read_at: null },
        { phone_number: ivo, lid: null, delivered_at: read.read_at, read_at: read.read_at },
      ].sort((a, b) => a.phone_number.localeCompare(b.phone_number)),
    );
    expect(Date.parse(delivered.delivered_at)).toBeGreaterThanOrEqual(Date.parse(sent.sent_at));
    // The filter by recipient takes the group id.
    const listed = await call("GET", `/v1/whatsapp/messages?filter[to_number]=${encodeURIComponent(group)}`, { key: account.key });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.json.data.map((m: any) => m.id)).toContain(row.id);
  });

  it("mentions named members, or every participant with mention_all", async () => {
    const named = await reach((await sendOk(toGroup({ type: "text", content: "@Ivo look", mentions: [`+${ivo}`] }))).id, "sent");
    expect((await inboxEntry(hana, named.provider_message_id)).mentions).toEqual([`${ivo}@s.whatsapp.net`]);

    const all = await reach((await sendOk(toGroup({ type: "text", content: "@everyone standup", mention_all: true }))).id, "sent");
    const got = await inboxEntry(ivo, all.provider_message_id);
    expect(got.text).toBe("@everyone standup");
    // Every participant but the session itself.
    expect([...got.mentions].sort()).toEqual([`${hana}@s.whatsapp.net`, `${ivo}@s.whatsapp.net`].sort());
  });

  it("reads a group's info once for a burst of sends: Baileys takes it from the same cache", async () => {
    const burst = (await sandboxOf(account.id).createGroup(hana, { subject: "Burst", members: [session.phone_number, ivo] })).jid;
    const queries = await countGroupQueries(burst);
    const rows = [];
    for (const n of [1, 2, 3]) rows.push(await sendOk({ whatsapp_session_id: session.id, to_number: [burst], type: "text", content: `burst ${n}` }));
    for (const [i, row] of rows.entries()) {
      const sent = await reach(row.id, "sent");
      expect((await inboxEntry(ivo, sent.provider_message_id)).text).toBe(`burst ${i + 1}`);
    }
    expect(await queries()).toBe(1);
  });

  it("replies to and reacts on a member's group message, and sends polls and images into the group", async () => {
    const question = await sandboxOf(account.id).sendGroupMessage(hana, group, { type: "text", text: "who is on call?" });
    let incoming: any;
    await expect
      .poll(async () => {
        const res = await call("GET", "/v1/whatsapp/messages?filter[direction]=incoming&limit=100", { key: account.key });
        incoming = (res.json.data as any[]).find((m) => m.provider_message_id === question.id);
        return incoming !== undefined;
      }, poll)
      .toBe(true);

    const reply = await reach((await sendOk(toGroup({ type: "text", content: "me", reply_to: incoming.id }))).id, "sent");
    expect(await inboxEntry(ivo, reply.provider_message_id)).toMatchObject({ group_jid: group, text: "me", quoted_id: question.id });

    const reaction = await reach((await sendOk(toGroup({ type: "reaction", reaction: { message_id: incoming.id, emoji: "👍" } }))).id, "sent");
    expect(await inboxEntry(hana, reaction.provider_message_id)).toMatchObject({ group_jid: group, type: "reaction", reaction: { emoji: "👍", target_id: question.id } });

    const pollMsg = await reach((await sendOk(toGroup({ type: "poll", poll: { name: "Lunch?", options: ["Pizza", "Sushi"] } }))).id, "sent");
    expect(await inboxEntry(ivo, pollMsg.provider_message_id)).toMatchObject({ group_jid: group, type: "poll", poll: { name: "Lunch?", options: ["Pizza", "Sushi"] } });

    const image = await reach((await sendOk(toGroup({ type: "image", media_url: `${inject("mediaServerUrl")}/png`, content: "the plan" }))).id, "sent");
    expect(await inboxEntry(hana, image.provider_message_id)).toMatchObject({ group_jid: group, type: "image", caption: "the plan", media_status: "ok" });
  });
});

/** Runs inside the session object (its private parts). */
function inside<T>(read: (o: any) => T): Promise<T> {
  return runInDurableObject(sessionOf(session.id) as DurableObjectStub, (instance) => read(instance)) as Promise<T>;
}

/** From now on, counts the group-info answers (w:g2 query results) the session's socket gets for this group. */
async function countGroupQueries(jid: string): Promise<() => Promise<number>> {
  await inside((o) => {
    const user = jid.split("@")[0];
    o.groupQueries = 0;
    o.conn.current.ws.on("frame", (frame: any) => {
      const first = Array.isArray(frame?.content) ? frame.content[0] : undefined;
      if (frame?.tag === "iq" && frame.attrs?.type === "result" && first?.tag === "group" && [user, jid].includes(first.attrs?.id)) o.groupQueries++;
    });
  });
  return () => inside((o) => o.groupQueries as number);
}

/** Rows as D1 orders them (ORDER BY participant). */
const byParticipant = <T extends { participant: string }>(rows: T[]) => rows.sort((a, b) => (a.participant < b.participant ? -1 : 1));

describe("participant receipts are journaled in the session object and flushed in batches", () => {
  it("keeps them out of D1 until the flush, then writes them once", async () => {
    const d1Receipts = async (id: string) =>
      (await env.DB.prepare("SELECT participant, delivered_at, read_at FROM message_receipts WHERE message_id = ? ORDER BY participant").bind(id).all()).results;
    await inside((o) => (o.flusher.heldByTest = true));
    try {
      const row = await sendOk(toGroup({ type: "text", content: "held" }));
      await expect.poll(() => inside((o) => o.ctx.storage.sql.exec("SELECT wa_id FROM outbox WHERE message_id = ? AND acked_at IS NOT NULL", row.id).toArray()[0]?.wa_id as string | undefined), poll).toBeDefined();
      const waId = await inside((o) => o.ctx.storage.sql.exec("SELECT wa_id FROM outbox WHERE message_id = ?", row.id).one().wa_id as string);
      await phoneReceipt(hana, [waId], "delivered");
      await phoneReceipt(ivo, [waId], "read");
      const journaled = () => inside((o) => o.ctx.storage.sql.exec("SELECT participant, kind FROM receipt_journal WHERE message_id = ? AND flushed = 0 ORDER BY seq", row.id).toArray());
      await expect.poll(journaled, poll).toEqual([{ participant: hana, kind: "delivered" }, { participant: ivo, kind: "read" }]);
      expect(await d1Receipts(row.id)).toEqual([]);
      expect((await message(row.id)).status).toBe("queued");

      await inside(async (o) => {
        o.flusher.heldByTest = false;
        await o.flusher.flush();
      });
      const read = await message(row.id);
      expect(read.status).toBe("read");
      expect(await d1Receipts(row.id)).toEqual(byParticipant([
        { participant: hana, delivered_at: read.delivered_at, read_at: null },
        { participant: ivo, delivered_at: read.read_at, read_at: read.read_at },
      ]));
      // Flushed receipts stay known: another device's repeat of one is not journaled again.
      expect(await inside((o) => o.journal.recordReceipt({ messageId: row.id, participant: hana, kind: "delivered", at: new Date().toISOString() }))).toBe(false);
      expect(await inside((o) => o.journal.size())).toBe(0);
      expect(await inside((o) => o.ctx.storage.sql.exec("SELECT participant, kind FROM receipt_journal WHERE message_id = ? AND flushed = 0", row.id).toArray())).toEqual([]);
      // A flush repeated (its answer lost) with later times changes nothing: the first time stays.
      const later = new Date(Date.now() + 60_000).toISOString();
      const again = [
        { messageId: row.id, participant: hana, kind: "delivered" as const, at: later },
        { messageId: row.id, participant: ivo, kind: "read" as const, at: later },
      ];
      await env.DB.batch(receiptStatements(env.DB, again));
      expect(await d1Receipts(row.id)).toEqual(byParticipant([
        { participant: hana, delivered_at: read.delivered_at, read_at: null },
        { participant: ivo, delivered_at: read.read_at, read_at: read.read_at },
      ]));
    } finally {
      await inside((o) => (o.flusher.heldByTest = false));
    }
  });
});

async function announceOnly(admin: string, jid: string) {
  const res = await call("PATCH", `/v1/sandbox/phones/${admin}/groups/${encodeURIComponent(jid)}`, { key: account.key, body: { announce: true } });
  expect(res.status, res.text).toBe(200);
  expect(res.json.group.announce).toBe(true);
}

describe("refusals", () => {
  it("fails and refunds a non-admin's message to an announce-only group; an admin still sends", async () => {
    const announce = (await sandboxOf(account.id).createGroup(hana, { subject: "News", members: [session.phone_number, ivo] })).jid;
    // The owner's phone makes it announce-only (the w:g2 setting, as WhatsApp's app would).
    await announceOnly(hana, announce);
    const before = await balanceOf(account.key);
    const row = await sendOk({ whatsapp_session_id: session.id, to_number: [announce], type: "text", content: "may I?" });
    const failed = await reach(row.id, "failed");
    expect(failed.reason).toBe("group_announce_only");
    expect(failed.sent_at).toBeNull();
    expect(await balanceOf(account.key)).toBe(before);

    // The session's own group (it is the superadmin) with the same setting: sent and delivered.
    const own = (await sandboxOf(account.id).createGroup(session.phone_number, { subject: "Mine", members: [ivo] })).jid;
    await announceOnly(session.phone_number, own);
    const ok = await reach((await sendOk({ whatsapp_session_id: session.id, to_number: [own], type: "text", content: "announcement" })).id, "sent");
    expect((await inboxEntry(ivo, ok.provider_message_id)).text).toBe("announcement");
    // The refused one, written to the server before this one, never reached a member.
    const refusedId = await inside((o) => o.ctx.storage.sql.exec("SELECT wa_id FROM outbox WHERE message_id = ?", row.id).one().wa_id as string);
    const inbox = (await call("GET", `/v1/sandbox/phones/${ivo}/inbox`, { key: account.key })).json.messages as any[];
    expect(inbox.map((m) => m.id)).not.toContain(refusedId);
  });

  it("fails and refunds a message to a group the session is not in", async () => {
    const elsewhere = (await sandboxOf(account.id).createGroup(hana, { subject: "Private", members: [ivo] })).jid;
    const before = await balanceOf(account.key);
    const row = await sendOk({ whatsapp_session_id: session.id, to_number: [elsewhere], type: "text", content: "hi?" });
    expect((await reach(row.id, "failed")).reason).toBe("not_group_member");
    expect(await balanceOf(account.key)).toBe(before);
  });

  it("refuses bad group ids and mention_all outside groups with 422, storing nothing; a batch item takes a group id", async () => {
    const before = await balanceOf(account.key);
    const cases: [Record<string, unknown>, string][] = [
      [{ to_number: ["team@g.us"], type: "text", content: "x" }, "to_number.0"],
      [{ to_number: ["120363-@g.us"], type: "text", content: "x" }, "to_number.0"],
      [{ to_number: ["120363000000000001@s.whatsapp.net"], type: "text", content: "x" }, "to_number.0"],
      [{ to_number: [`+${hana}`], type: "text", content: "x", mention_all: true }, "mention_all"],
      [{ to_number: [group, `+${hana}`], type: "text", content: "x", mention_all: true }, "mention_all"],
      [{ to_number: [group], type: "poll", poll: { name: "Q", options: ["a", "b"] }, mention_all: true }, "mention_all"],
    ];
    for (const [body, field] of cases) {
      const res = await send(account.key, { whatsapp_session_id: session.id, ...body });
      expect(res.status, res.text).toBe(422);
      expect(res.json.error.details.map((d: any) => d.field)).toContain(field);
    }
    const batch = await call("POST", "/v1/whatsapp/messages/batch", {
      key: account.key,
      body: { messages: [{ whatsapp_session_id: session.id, to_number: ["nope@g.us"], type: "text", content: "x" }] },
    });
    expect(batch.status, batch.text).toBe(200);
    expect(batch.json.data.results[0]).toMatchObject({ status: "REJECTED", reasons: [{ field: "messages.0.to_number.0" }] });
    expect(await balanceOf(account.key)).toBe(before);

    // A batch item takes a group id like a single send: one row, one charge.
    const mixed = await call("POST", "/v1/whatsapp/messages/batch", {
      key: account.key,
      body: { messages: [{ whatsapp_session_id: session.id, to_number: ["nope@g.us"], type: "text", content: "x" }, toGroup({ type: "text", content: "from a batch" })] },
    });
    expect(mixed.status, mixed.text).toBe(200);
    expect(mixed.json.data).toMatchObject({ accepted: 1, rejected: 1, count: 1, total_cost: 10, new_balance: before - 10 });
    const batched = await reach(mixed.json.data.results[1].message_ids[0], "sent");
    expect(batched.to_number).toBe(group);
  });

  it("answers 404 for another account's message receipts, and lists a 1:1 message's one recipient", async () => {
    const row = await sendOk({ whatsapp_session_id: session.id, to_number: [`+${hana}`], type: "text", content: "direct" });
    const sent = await reach(row.id, "sent");
    await phoneReceipt(hana, [sent.provider_message_id], "delivered");
    const delivered = await reach(row.id, "delivered");
    const own = await receipts(row.id);
    expect(own.status, own.text).toBe(200);
    expect(own.json.data.receipts).toEqual([{ phone_number: hana, lid: null, delivered_at: delivered.delivered_at, read_at: null }]);

    const other = await createAccount({ balance: 100 });
    const res = await receipts(row.id, other.key);
    expect(res.status, res.text).toBe(404);
    expect(res.json.success).toBe(false);
    expect((await receipts(crypto.randomUUID())).status).toBe(404);
  });
});
