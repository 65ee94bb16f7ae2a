import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { type Client, linkByQr, poll, sandboxOf, statusOf, upserts } from "../helpers/sandbox-client";
import { createPhone, fault, linkedSession, logins, sandboxEventsOf, waitForSession } from "../helpers/sessions";

// Offline delivery as WhatsApp's servers do it: what waited for a device is announced after
// `<success>` (`<ib><offline_preview/>`), sent in the batches the client asks for (`<ib><offline_batch
// count/>`), marked `offline`, and ended by `<ib><offline count/>`. Everything the device is sent
// stays stored until it answers, so a drop never loses a stanza: the next login sends it again.

const slow = { timeout: 60_000, interval: 100 };

/** Stanzas the sandbox still keeps for this number's devices (unanswered or not yet sent). */
async function stored(accountId: string, phone: string): Promise<number> {
  return runInDurableObject(sandboxOf(accountId) as unknown as DurableObjectStub, (_i: unknown, state: DurableObjectState) =>
    Number(state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM pending_stanzas WHERE phone = ?", phone.replace(/^\+/, "")).one().n),
  );
}

/** Stanzas the open socket of this session still owes an answer. */
async function unanswered(accountId: string, sessionId: string): Promise<number | undefined> {
  const sockets = (await sandboxOf(accountId).sockets()) as { session_id: string; state: string; unacked: number }[];
  return sockets.find((s) => s.session_id === sessionId && s.state === "open")?.unacked;
}

/** Incoming messages the gateway stored for the account, by WhatsApp id → how many rows. */
async function storedIncoming(account: TestAccount): Promise<Map<string, number>> {
  const { results } = await env.DB.prepare(
    "SELECT provider_message_id AS id, COUNT(*) AS n FROM messages WHERE account_id = ? AND direction = 'incoming' GROUP BY provider_message_id",
  )
    .bind(account.id)
    .all<{ id: string; n: number }>();
  return new Map(results.map((r) => [r.id, r.n]));
}

/** `count` texts from `phones` in turn to `to`; their WhatsApp ids in order. */
async function phonesWrite(accountId: string, phones: string[], to: string, count: number, label: string): Promise<string[]> {
  const sandbox = sandboxOf(accountId);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const sent = await sandbox.sendMessage(phones[i % phones.length], { to, type: "text", text: `${label} ${i + 1}` });
    ids.push(sent.id);
  }
  return ids;
}

async function disconnect(account: TestAccount, sessionId: string) {
  const off = await call("PATCH", `/v1/whatsapp/sessions/${sessionId}/disconnect`, { key: account.key });
  expect(off.status, off.text).toBe(200);
  await waitForSession(account.key, sessionId, (s) => s.status === "disconnected");
  await expect.poll(async () => ((await sandboxOf(account.id).sockets()) as { session_id: string }[]).some((s) => s.session_id === sessionId), slow).toBe(false);
}

async function reconnect(account: TestAccount, sessionId: string) {
  const on = await call("PATCH", `/v1/whatsapp/sessions/${sessionId}/reconnect`, { key: account.key });
  expect(on.status, on.text).toBe(200);
}

/**
 * Phones write `count` messages while the session is away; at its next login the client's first
 * answer is lost, so the offline phase stops after the first batch, one answer short.
 */
async function stuckPhase(account: TestAccount, session: { id: string; phone_number: string }, count: number, label: string) {
  const alice = await createPhone(account.key, { name: "Alice" });
  await disconnect(account, session.id);
  const ids = await phonesWrite(account.id, [alice.phone_number], session.phone_number, count, label);
  const waiting = await stored(account.id, session.phone_number);
  await fault(account.key, session.id, { kind: "lose_acks", count: 1 });
  await reconnect(account, session.id);
  await expect.poll(async () => (await sandboxEventsOf(account.id, session.id, "offline_batch_sent")).length, slow).toBe(1);
  await expect.poll(() => unanswered(account.id, session.id), slow).toBe(1);
  return { alice, ids, waiting };
}

/** Send counts of the stanzas kept for this number, by stanza id. */
async function sends(accountId: string, phone: string): Promise<Map<string, number>> {
  return runInDurableObject(sandboxOf(accountId) as unknown as DurableObjectStub, (_i: unknown, state: DurableObjectState) =>
    new Map(
      state.storage.sql
        .exec<{ id: string; sends: number }>("SELECT stanza_id AS id, sends FROM pending_stanzas WHERE phone = ?", phone.replace(/^\+/, ""))
        .toArray()
        .map((r) => [r.id, r.sends]),
    ),
  );
}

/** Upsert type ("notify", "append") of each message id Baileys upserted. */
const upsertTypes = (c: Client): Map<string, string> =>
  new Map(c.batches.flatMap((b) => (b["messages.upsert"] ? b["messages.upsert"].messages.map((m) => [m.key.id!, b["messages.upsert"]!.type] as const) : [])));

describe("offline delivery", () => {
  it("what phones send while the device is away comes at the next login: preview, the batch it asks for, end marker; Baileys takes it as offline", () => {
    const accountId = `acct-offline-${crypto.randomUUID()}`;
    const sessionId = `sess-offline-${crypto.randomUUID()}`;
    return runInDurableObject(env.SESSION.get(env.SESSION.idFromName(sessionId)), async (_i, state) => {
      const sandbox = sandboxOf(accountId);
      const me = await sandbox.createPhone({ name: "Me" });
      const alice = await sandbox.createPhone({ name: "Alice" });
      const bob = await sandbox.createPhone({ name: "Bob" });
      const client = await linkByQr(state.storage, accountId, sessionId, me.phone_number);
      // One message out before going away, delivered (its read receipt will wait for the device).
      const mine = (await client.socket().sendMessage(`${alice.phone_number}@s.whatsapp.net`, { text: "see you later" }))!.key.id!;
      await expect.poll(() => statusOf(client, mine), poll).toContain(3);
      await expect.poll(() => stored(accountId, me.phone_number), poll).toBe(0);

      await client.host.stop();
      await expect.poll(async () => (await sandbox.sockets()).length, poll).toBe(0);
      const ids = [
        ...(await phonesWrite(accountId, [alice.phone_number], me.phone_number, 3, "from alice")),
        ...(await phonesWrite(accountId, [bob.phone_number], me.phone_number, 2, "from bob")),
      ];
      await sandbox.sendReceipts(alice.phone_number, [mine], "read");
      const waiting = await stored(accountId, me.phone_number);

      client.host.start();
      await expect.poll(() => client.opens, poll).toBe(2);
      await expect.poll(() => ids.filter((id) => upserts(client).some((m) => m.key.id === id && m.message)).length, poll).toBe(5);
      await expect.poll(() => statusOf(client, mine), poll).toContain(4);
      // Stanzas marked `offline`: Baileys upserts their messages as "append", not "notify".
      const types = upsertTypes(client);
      expect(ids.map((id) => types.get(id))).toEqual(ids.map(() => "append"));
      expect(upserts(client).find((m) => m.key.id === ids[0])?.message?.conversation).toBe("from alice 1");

      const [preview] = await sandboxEventsOf(accountId, sessionId, "offline_preview");
      // Five messages, one receipt, and each phone's first-write privacy token (notifications).
      expect(preview.detail).toMatchObject({ count: waiting, message: 5, receipt: 1 });
      expect(preview.detail.count).toBe(5 + 1 + (preview.detail.notification ?? 0));
      expect((await sandboxEventsOf(accountId, sessionId, "offline_batch_requested")).map((e) => e.detail.count)).toEqual([100]);
      const batches = await sandboxEventsOf(accountId, sessionId, "offline_batch_sent");
      expect(batches.map((e) => [e.detail.count, e.detail.remaining])).toEqual([[waiting, 0]]);
      expect(batches[0].detail.ids).toEqual(expect.arrayContaining(ids));
      const complete = await sandboxEventsOf(accountId, sessionId, "offline_complete");
      // The first login found nothing waiting (no preview), the second the whole backlog.
      expect(complete.map((e) => e.detail.count)).toEqual([0, waiting]);
      expect(preview.at).toBeLessThanOrEqual(batches[0].at);
      // All answered: nothing is kept for a redelivery.
      await expect.poll(() => stored(accountId, me.phone_number), poll).toBe(0);
      await client.host.stop();
    });
  }, 60_000);

  it("more than one batch: Baileys asks for 100 once, the rest goes when those are answered, and all of it reaches the gateway", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const alice = await createPhone(account.key, { name: "Alice" });
    const bob = await createPhone(account.key, { name: "Bob" });
    await disconnect(account, session.id);
    const ids = await phonesWrite(account.id, [alice.phone_number, bob.phone_number], session.phone_number, 120, "backlog");
    const waiting = await stored(account.id, session.phone_number);
    expect(waiting).toBeGreaterThan(100);

    await reconnect(account, session.id);
    await expect.poll(async () => (await storedIncoming(account)).size, slow).toBe(120);
    const incoming = await storedIncoming(account);
    expect(ids.every((id) => incoming.get(id) === 1)).toBe(true);

    const batches = await sandboxEventsOf(account.id, session.id, "offline_batch_sent");
    expect(batches.map((e) => [e.detail.count, e.detail.remaining])).toEqual([[100, waiting - 100], [waiting - 100, 0]]);
    expect((await sandboxEventsOf(account.id, session.id, "offline_batch_requested")).map((e) => e.detail.count)).toEqual([100]);
    expect((await sandboxEventsOf(account.id, session.id, "offline_complete")).at(-1)?.detail.count).toBe(waiting);
    await expect.poll(() => stored(account.id, session.phone_number), slow).toBe(0);
  }, 120_000);

  it("a drop during the offline phase loses nothing: the next login sends the rest and what was left unanswered; each message is stored once", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const alice = await createPhone(account.key, { name: "Alice" });
    const bob = await createPhone(account.key, { name: "Bob" });
    await disconnect(account, session.id);
    const ids = await phonesWrite(account.id, [alice.phone_number, bob.phone_number], session.phone_number, 105, "interrupted");
    const waiting = await stored(account.id, session.phone_number);
    const before = await logins(account.id, session.id);
    // The client's first answer never reaches the server: the first batch stays one answer short,
    // so the server holds back the rest, and the socket drops in the middle of the offline phase.
    await fault(account.key, session.id, { kind: "lose_acks", count: 1 });

    await reconnect(account, session.id);
    await expect.poll(async () => (await sandboxEventsOf(account.id, session.id, "offline_batch_sent")).length, slow).toBe(1);
    await expect.poll(() => unanswered(account.id, session.id), slow).toBe(1);
    expect(await sandboxEventsOf(account.id, session.id, "ack_lost")).toHaveLength(1);
    expect((await sandboxEventsOf(account.id, session.id, "offline_complete")).length).toBe(1); // the first login's only
    await fault(account.key, session.id, { kind: "drop" });

    // The next login: the unanswered one again, then the rest that was never sent.
    await expect.poll(() => logins(account.id, session.id), slow).toBeGreaterThanOrEqual(before + 2);
    await expect.poll(async () => (await sandboxEventsOf(account.id, session.id, "offline_complete")).length, slow).toBe(2);
    const previews = await sandboxEventsOf(account.id, session.id, "offline_preview");
    expect(previews.map((e) => e.detail.count)).toEqual([waiting, waiting - 100 + 1]);
    const batches = await sandboxEventsOf(account.id, session.id, "offline_batch_sent");
    expect(batches.map((e) => [e.detail.count, e.detail.redelivered])).toEqual([[100, 0], [waiting - 99, 1]]);

    await expect.poll(async () => (await storedIncoming(account)).size, slow).toBe(105);
    const incoming = await storedIncoming(account);
    expect(ids.every((id) => incoming.get(id) === 1)).toBe(true);
    await expect.poll(() => stored(account.id, session.phone_number), slow).toBe(0);
  }, 120_000);

  it("a redelivered stanza is owed an answer like any other: left unanswered again, the stream ends over it again", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const alice = await createPhone(account.key, { name: "Alice" });
    await fault(account.key, session.id, { kind: "unacked_timeout", ms: 2_000 });
    // The answer to the live delivery and the answers to its redelivery are all lost on the way.
    await fault(account.key, session.id, { kind: "lose_acks", count: 3 });
    const [id] = await phonesWrite(account.id, [alice.phone_number], session.phone_number, 1, "twice unanswered");

    await expect.poll(async () => (await sandboxEventsOf(account.id, session.id, "unacked_stream_error")).length, slow).toBeGreaterThanOrEqual(2);
    const errors = await sandboxEventsOf(account.id, session.id, "unacked_stream_error");
    expect(errors.slice(0, 2).map((e) => [e.detail.tag, e.detail.id])).toEqual([["message", id], ["message", id]]);
    const redeliveries = (await sandboxEventsOf(account.id, session.id, "offline_batch_sent")).filter((e) => e.detail.ids.includes(id));
    expect(redeliveries[0].detail.redelivered).toBeGreaterThanOrEqual(1);

    // Once an answer gets through, nothing is kept, and the message was stored once.
    await fault(account.key, session.id, { kind: "unacked_timeout", ms: 60_000 });
    await expect.poll(() => stored(account.id, session.phone_number), slow).toBe(0);
    expect((await storedIncoming(account)).get(id)).toBe(1);
  }, 120_000);

  it("a stanza sent live and never answered before the socket closed comes again at the next login, marked offline", () => {
    const accountId = `acct-redeliver-${crypto.randomUUID()}`;
    const sessionId = `sess-redeliver-${crypto.randomUUID()}`;
    return runInDurableObject(env.SESSION.get(env.SESSION.idFromName(sessionId)), async (_i, state) => {
      const sandbox = sandboxOf(accountId);
      const me = await sandbox.createPhone({ name: "Me" });
      const carol = await sandbox.createPhone({ name: "Carol" });
      const client = await linkByQr(state.storage, accountId, sessionId, me.phone_number);
      const hello = await sandbox.sendMessage(carol.phone_number, { to: me.phone_number, type: "text", text: "hello" });
      await expect.poll(() => upsertTypes(client).get(hello.id), poll).toBe("notify");
      await expect.poll(() => stored(accountId, me.phone_number), poll).toBe(0);

      // A dead path: the server sends, nothing arrives and no answer comes back; then the socket drops.
      await sandbox.fault(sessionId, "silence");
      const lost = await sandbox.sendMessage(carol.phone_number, { to: me.phone_number, type: "text", text: "are you there?" });
      expect(await stored(accountId, me.phone_number)).toBe(1);
      await sandbox.fault(sessionId, "drop");

      await expect.poll(() => client.opens, { timeout: 30_000, interval: 50 }).toBe(2);
      await expect.poll(() => upserts(client).find((m) => m.key.id === lost.id)?.message?.conversation, poll).toBe("are you there?");
      expect(upsertTypes(client).get(lost.id)).toBe("append");
      const batches = await sandboxEventsOf(accountId, sessionId, "offline_batch_sent");
      expect(batches.map((e) => ({ count: e.detail.count, redelivered: e.detail.redelivered, ids: e.detail.ids }))).toEqual([{ count: 1, redelivered: 1, ids: [lost.id] }]);
      await expect.poll(() => stored(accountId, me.phone_number), poll).toBe(0);
      await client.host.stop();
    });
  }, 60_000);

  it("a stanza for the device during its offline phase waits behind the backlog instead of going out live", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const { alice, ids, waiting } = await stuckPhase(account, session, 105, "backlog");
    const [late] = await phonesWrite(account.id, [alice.phone_number], session.phone_number, 1, "late");
    // Stored, never sent: the phase is not over, so it does not overtake the five still waiting.
    expect((await sends(account.id, session.phone_number)).get(late)).toBe(0);

    await fault(account.key, session.id, { kind: "drop" });
    await expect.poll(async () => (await sandboxEventsOf(account.id, session.id, "offline_complete")).length, slow).toBe(2);
    const batches = await sandboxEventsOf(account.id, session.id, "offline_batch_sent");
    // The second login: the unanswered one, the five never sent, then the late one, last.
    expect(batches.at(-1)!.detail.count).toBe(waiting - 99 + 1);
    expect(batches.at(-1)!.detail.ids.at(-1)).toBe(late);
    await expect.poll(async () => (await storedIncoming(account)).size, slow).toBe(106);
    const incoming = await storedIncoming(account);
    expect([...ids, late].every((id) => incoming.get(id) === 1)).toBe(true);
  }, 120_000);

  it("the gateway closing its socket mid-phase keeps what Baileys answered but had not yet emitted; the next login brings the rest, each message once", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const { ids, waiting } = await stuckPhase(account, session, 105, "cut short");
    // 99 of the first 100 were answered: the server no longer keeps them, only the gateway can.
    await expect.poll(() => stored(account.id, session.phone_number), slow).toBe(waiting - 99);
    const firstBatchMessages = 100 - (waiting - 105);

    await disconnect(account, session.id);
    // Baileys' buffered upserts, flushed as the socket ends, reached the store before any reconnect.
    await expect.poll(async () => (await storedIncoming(account)).size, slow).toBeGreaterThanOrEqual(firstBatchMessages - 1);
    await reconnect(account, session.id);
    await expect.poll(async () => (await storedIncoming(account)).size, slow).toBe(105);
    const incoming = await storedIncoming(account);
    expect(ids.every((id) => incoming.get(id) === 1)).toBe(true);
    await expect.poll(() => stored(account.id, session.phone_number), slow).toBe(0);
  }, 120_000);

  it("a device unlinked mid-phase: the phase ends there, with no further batch and no end marker", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    await stuckPhase(account, session, 105, "unlinked");
    await fault(account.key, session.id, { kind: "logout" });

    await expect.poll(async () => (await sandboxEventsOf(account.id, session.id, "offline_abandoned")).length, slow).toBe(1);
    const [abandoned] = await sandboxEventsOf(account.id, session.id, "offline_abandoned");
    expect(abandoned.detail).toMatchObject({ reason: "unlinked", sent: 100 });
    await waitForSession(account.key, session.id, (s) => s.status === "disconnected" && s.reason === "logged_out");
    // Recorded after the abandon: only the first login ever completed, one batch went out, nothing is kept.
    expect(await sandboxEventsOf(account.id, session.id, "offline_complete")).toHaveLength(1);
    expect(await sandboxEventsOf(account.id, session.id, "offline_batch_sent")).toHaveLength(1);
    expect(await stored(account.id, session.phone_number)).toBe(0);
  }, 120_000);

  it("a delivered and a read receipt with one id: each is owed its own answer, and a lost answer leaves the right one kept", () => {
    const accountId = `acct-two-receipts-${crypto.randomUUID()}`;
    const sessionId = `sess-two-receipts-${crypto.randomUUID()}`;
    return runInDurableObject(env.SESSION.get(env.SESSION.idFromName(sessionId)), async (_i, state) => {
      const sandbox = sandboxOf(accountId);
      const me = await sandbox.createPhone({ name: "Me" });
      const alice = await sandbox.createPhone({ name: "Alice", receipt_policy: { delivered: "manual", read: "manual" } });
      const client = await linkByQr(state.storage, accountId, sessionId, me.phone_number);
      const mine = (await client.socket().sendMessage(`${alice.phone_number}@s.whatsapp.net`, { text: "did you get it?" }))!.key.id!;
      // Reached Alice's phone, which keeps its receipts until told.
      await expect.poll(async () => (await sandbox.inbox(alice.phone_number)).some((m: { id: string }) => m.id === mine), poll).toBe(true);

      await client.host.stop();
      await expect.poll(async () => (await sandbox.sockets()).length, poll).toBe(0);
      await sandbox.sendReceipts(alice.phone_number, [mine], "delivered");
      await sandbox.sendReceipts(alice.phone_number, [mine], "read");
      expect(await sends(accountId, me.phone_number)).toEqual(new Map([[mine, 0]]));
      expect(await stored(accountId, me.phone_number)).toBe(2);
      // The client's answer to the delivered receipt is lost; its answer to the read one arrives.
      await sandbox.fault(sessionId, "lose_acks", { count: 1 });
      await sandbox.fault(sessionId, "unacked_timeout", { ms: 5_000 });

      client.host.start();
      await expect.poll(() => statusOf(client, mine), poll).toContain(4);
      const alicePn = `${alice.phone_number.replace(/^\+/, "")}@s.whatsapp.net`;
      const keys = () =>
        runInDurableObject(sandboxOf(accountId) as unknown as DurableObjectStub, (_x: unknown, s: DurableObjectState) =>
          s.storage.sql.exec<{ ack_key: string }>("SELECT ack_key FROM pending_stanzas").toArray().map((r) => r.ack_key),
        );
      // What is kept is the delivered receipt (no type), the one whose answer was lost, and its clock still runs.
      await expect.poll(keys, poll).toEqual([`${alicePn}|||`]);
      expect(await unanswered(accountId, sessionId)).toBe(1);
      await expect.poll(async () => (await sandboxEventsOf(accountId, sessionId, "unacked_stream_error")).map((e) => [e.detail.tag, e.detail.id]), slow).toEqual([["receipt", mine]]);
      // The next login (this harness reconnects only on 408/428/515, so by hand) sends it again;
      // answered this time, nothing is kept.
      await expect.poll(async () => (await sandbox.sockets()).length, poll).toBe(0);
      client.host.start();
      await expect.poll(() => client.opens, slow).toBe(3);
      await expect.poll(() => stored(accountId, me.phone_number), slow).toBe(0);
      const batches = await sandboxEventsOf(accountId, sessionId, "offline_batch_sent");
      expect(batches.at(-1)!.detail).toMatchObject({ count: 1, redelivered: 1, ids: [mine] });
      await client.host.stop();
    });
  }, 60_000);
});
