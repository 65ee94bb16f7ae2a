import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { OutboxItem } from "../../src/domain/outbox-item";
import { Outbox } from "../../src/session/outbox";

// The session object's outbox on a real object's SQLite (its schema made by the constructor).
// Times are passed in, so pacing and expiry are checked without waiting.

const DAY_MS = 24 * 60 * 60_000;
const T0 = 1_800_000_000_000;

function inOutbox<R>(name: string, fn: (outbox: Outbox, sql: SqlStorage) => R | Promise<R>): Promise<R> {
  const stub = env.SESSION.get(env.SESSION.idFromName(`outbox-part-${name}-${crypto.randomUUID()}`));
  return runInDurableObject(stub, (_instance, state) => fn(new Outbox(state.storage.sql), state.storage.sql));
}

function item(messageId: string, extra: Partial<OutboxItem> = {}): OutboxItem {
  return {
    messageId,
    accountId: "acct",
    to: "22997000000",
    type: "text",
    content: `text of ${messageId}`,
    mediaUrl: null,
    payload: null,
    campaignId: null,
    delayBetweenMs: 0,
    scheduledAt: null,
    ...extra,
  };
}

const ids = (entries: { item: OutboxItem }[]) => entries.map((e) => e.item.messageId);

describe("session outbox", () => {
  it("adds new ids only: a redelivery of a held or a finished id is ignored", () =>
    inOutbox("dedupe", (outbox) => {
      expect(outbox.add([item("a"), item("b")], T0)).toBe(2);
      expect(outbox.add([item("a"), item("c")], T0)).toBe(1);
      expect(outbox.size()).toBe(3);
      const a = outbox.takeNext(T0)!;
      outbox.finish(a.item.messageId, 0, T0);
      expect(outbox.size()).toBe(2);
      // Finished ids stay known, so a late queue redelivery does not send the message again.
      expect(outbox.add([item("a")], T0 + DAY_MS)).toBe(0);
      expect(outbox.size()).toBe(2);
      expect(ids(outbox.held())).toEqual(["b", "c"]);
    }));

  it("gives each item a WhatsApp id when it is added, kept across retries", () =>
    inOutbox("wa-id", (outbox) => {
      outbox.add([item("a")], T0);
      const first = outbox.takeNext(T0)!;
      expect(first.waId).toMatch(/^3EB0[0-9A-F]{36}$/);
      expect(first.attempts).toBe(1);
      // Taken but never finished (a crash mid-send): taken again, same WhatsApp id, one more attempt.
      const again = outbox.takeNext(T0)!;
      expect(again.item).toEqual(item("a"));
      expect(again.waId).toBe(first.waId);
      expect(again.attempts).toBe(2);
    }));

  it("takes items by due time, then in the order they came", () =>
    inOutbox("order", (outbox) => {
      outbox.add([item("late", { scheduledAt: T0 + 5_000 }), item("first"), item("second")], T0);
      outbox.add([item("third")], T0);
      const taken: string[] = [];
      for (let at = T0; taken.length < 4; at += 5_000) {
        for (let entry = outbox.takeNext(at); entry; entry = outbox.takeNext(at)) {
          taken.push(entry.item.messageId);
          outbox.finish(entry.item.messageId, 0, at);
        }
      }
      expect(taken).toEqual(["first", "second", "third", "late"]);
      expect(outbox.size()).toBe(0);
      expect(outbox.nextSendAt()).toBeNull();
    }));

  it("paces sends: after a sent item nothing is taken until its delay_between has passed", () =>
    inOutbox("pacing", (outbox) => {
      outbox.add([item("a", { delayBetweenMs: 2_000 }), item("b")], T0);
      const a = outbox.takeNext(T0)!;
      outbox.finish(a.item.messageId, a.item.delayBetweenMs, T0);
      expect(outbox.nextSendAt()).toBe(T0 + 2_000);
      expect(outbox.takeNext(T0 + 1_999)).toBeUndefined();
      expect(outbox.takeNext(T0 + 2_000)?.item.messageId).toBe("b");
    }));

  it("postpones a failed try: the item waits until the given time and keeps its attempts", () =>
    inOutbox("postpone", (outbox) => {
      outbox.add([item("a")], T0);
      const first = outbox.takeNext(T0)!;
      outbox.postpone(first.item.messageId, T0 + 4_000);
      expect(outbox.size()).toBe(1);
      expect(outbox.nextSendAt()).toBe(T0 + 4_000);
      expect(outbox.takeNext(T0 + 3_999)).toBeUndefined();
      const retry = outbox.takeNext(T0 + 4_000)!;
      expect(retry.waId).toBe(first.waId);
      expect(retry.attempts).toBe(2);
      expect(retry.dueAt).toBe(T0 + 4_000);
    }));

  it("keeps a chat's order past a postponed try: its later messages wait as long, other chats do not", () =>
    inOutbox("postpone-order", (outbox) => {
      outbox.add([item("a1", { to: "1" }), item("a2", { to: "1" }), item("b1", { to: "2" }), item("a3", { to: "1", scheduledAt: T0 + 9_000 })], T0);
      expect(ids(outbox.takeReady(5, new Set(), T0))).toEqual(["a1", "b1"]);
      outbox.postpone("a1", T0 + 4_000);
      outbox.finish("b1", 0, T0);
      // a2 does not overtake a1 while it waits; a3, due after the retry, keeps its own time.
      expect(outbox.takeReady(5, new Set(), T0 + 3_999)).toEqual([]);
      expect(outbox.nextSendAt()).toBe(T0 + 4_000);
      expect(ids(outbox.takeReady(5, new Set(), T0 + 4_000))).toEqual(["a1"]);
      outbox.finish("a1", 0, T0 + 4_000);
      expect(ids(outbox.takeReady(5, new Set(), T0 + 4_000))).toEqual(["a2"]);
      expect(outbox.takeReady(5, new Set(["1"]), T0 + 9_000, new Set(["a2"]))).toEqual([]);
    }));

  it("requeues an unacked item without spending an attempt, keeping its due time so the max wait still bounds it", () =>
    inOutbox("requeue", (outbox) => {
      outbox.add([item("a")], T0);
      const first = outbox.takeNext(T0 + 1000)!;
      expect(first.attempts).toBe(1);
      outbox.requeue("a");
      const again = outbox.takeNext(T0 + 2000)!;
      expect({ waId: again.waId, attempts: again.attempts, dueAt: again.dueAt }).toEqual({ waId: first.waId, attempts: 1, dueAt: T0 });
      expect(ids(outbox.expired(T0 + 1))).toEqual(["a"]);
    }));

  it("an acked item keeps its ack time, is never listed as expired, and paces from when its frame was written", () =>
    inOutbox("acked", (outbox) => {
      outbox.add([item("a", { delayBetweenMs: 5000 }), item("b")], T0);
      const a = outbox.takeNext(T0)!;
      expect(a.ackedAt).toBeNull();
      outbox.markAcked("a", T0 + 3000);
      // Its D1 record failed: taken again, it says it was acked (the sender only writes D1).
      outbox.postpone("a", T0);
      expect(outbox.takeNext(T0)!.ackedAt).toBe(T0 + 3000);
      expect(ids(outbox.expired(T0 + 10 * DAY_MS))).toEqual(["b"]);
      // Written at T0, acked 3 s later: the 5 s pause ends at T0 + 5 s, not T0 + 8 s.
      outbox.finish("a", 5000, T0 + 3000, T0);
      expect(outbox.nextSendAt()).toBe(T0 + 5000);
    }));

  it("holds a scheduled item until it is due", () =>
    inOutbox("scheduled", (outbox) => {
      const at = T0 + 60 * 60_000;
      outbox.add([item("later", { scheduledAt: at })], T0);
      expect(outbox.size()).toBe(1);
      expect(outbox.nextSendAt()).toBe(at);
      expect(outbox.takeNext(at - 1)).toBeUndefined();
      expect(outbox.takeNext(at)?.item.messageId).toBe("later");
    }));

  it("lists items waiting since before a time, and forgets them once failed", () =>
    inOutbox("expiry", (outbox) => {
      outbox.add([item("old")], T0);
      outbox.add([item("new")], T0 + DAY_MS);
      expect(ids(outbox.expired(T0 + 1))).toEqual(["old"]);
      outbox.forget("old");
      expect(ids(outbox.expired(T0 + 1))).toEqual([]);
      expect(ids(outbox.held())).toEqual(["new"]);
      expect(outbox.size()).toBe(1);
      // A forgotten id is still known: a redelivery of it is ignored.
      expect(outbox.add([item("old")], T0 + DAY_MS)).toBe(0);
    }));

  it("drops finished ids after a week, so they are accepted again", () =>
    inOutbox("cleanup", (outbox, sql) => {
      outbox.add([item("a"), item("b")], T0);
      outbox.finish(outbox.takeNext(T0)!.item.messageId, 0, T0);
      const rows = () => sql.exec<{ message_id: string }>("SELECT message_id FROM outbox ORDER BY seq").toArray().map((r) => r.message_id);
      outbox.finish(outbox.takeNext(T0 + 7 * DAY_MS)!.item.messageId, 0, T0 + 7 * DAY_MS);
      // A prune (once per drain run) a week later forgets only what finished more than a week before.
      outbox.prune(T0 + 7 * DAY_MS);
      expect(rows()).toEqual(["a", "b"]);
      outbox.prune(T0 + 7 * DAY_MS + 1);
      expect(rows()).toEqual(["b"]);
      expect(outbox.add([item("a")], T0 + 7 * DAY_MS + 2)).toBe(1);
      expect(outbox.add([item("b")], T0 + 7 * DAY_MS + 2)).toBe(0);
    }));

  it("takes several unpaced items at once, one per chat, never one whose chat is busy or one in flight", () =>
    inOutbox("ready", (outbox) => {
      outbox.add([item("a1", { to: "1" }), item("a2", { to: "1" }), item("b1", { to: "2" }), item("c1", { to: "3" }), item("d1", { to: "4" })], T0);
      const first = outbox.takeReady(3, new Set(), T0);
      // a2 waits for a1: the next message to a chat is never written before the one before it settled.
      expect(ids(first)).toEqual(["a1", "b1", "c1"]);
      const inFlight = new Set(ids(first));
      expect(ids(outbox.takeReady(5, new Set(["1", "2", "3"]), T0, inFlight))).toEqual(["d1"]);
      outbox.finish("a1", 0, T0);
      inFlight.delete("a1");
      inFlight.add("d1");
      expect(ids(outbox.takeReady(5, new Set(["2", "3", "4"]), T0, inFlight))).toEqual(["a2"]);
    }));

  it("takes a paced item only alone, when nothing else is in flight, and nothing after it", () =>
    inOutbox("ready-paced", (outbox) => {
      outbox.add([item("u1", { to: "1" }), item("p1", { to: "2", delayBetweenMs: 1000 }), item("u2", { to: "3" })], T0);
      // The unpaced one before it goes; the paced one stops the take (u2 may not overtake it).
      expect(ids(outbox.takeReady(5, new Set(), T0))).toEqual(["u1"]);
      expect(ids(outbox.takeReady(5, new Set(["1"]), T0, new Set(["u1"])))).toEqual([]);
      outbox.finish("u1", 0, T0);
      expect(ids(outbox.takeReady(5, new Set(), T0))).toEqual(["p1"]);
      outbox.finish("p1", 1000, T0, T0);
      // Its pause holds every other message, as a single send's did.
      expect(outbox.takeReady(5, new Set(), T0 + 999)).toEqual([]);
      expect(ids(outbox.takeReady(5, new Set(), T0 + 1000))).toEqual(["u2"]);
    }));

  it("lists the recipients of the next messages due, for resolving them ahead", () =>
    inOutbox("upcoming", (outbox) => {
      outbox.add([item("a", { to: "1" }), item("b", { to: "2" }), item("c", { to: "3" })], T0);
      outbox.finish(outbox.takeNext(T0)!.item.messageId, 0, T0);
      expect(outbox.upcomingRecipients(5)).toEqual(["2", "3"]);
      expect(outbox.upcomingRecipients(1)).toEqual(["2"]);
    }));

  it("is the same outbox the session object uses, on the tables of its schema", async () => {
    const stub = env.SESSION.get(env.SESSION.idFromName(`outbox-part-object-${crypto.randomUUID()}`));
    const seen = await runInDurableObject(stub, (instance, state) => {
      const own = (instance as unknown as { outbox: Outbox }).outbox;
      own.add([item("x")], T0);
      return {
        size: new Outbox(state.storage.sql).size(),
        version: state.storage.sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray(),
      };
    });
    expect(seen.size).toBe(1);
    expect(seen.version).toHaveLength(1);
    expect(seen.version[0].version).toBeGreaterThanOrEqual(1);
  });
});
