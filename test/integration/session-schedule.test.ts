import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Schedule } from "../../src/session/schedule";

// The session object's task table and its one alarm, on a real object's storage. These objects
// were never started (no config), so their alarm only takes what is due and re-arms for the rest.

function freshStub(name: string) {
  return env.SESSION.get(env.SESSION.idFromName(`schedule-part-${name}-${crypto.randomUUID()}`));
}

function inSchedule<R>(stub: DurableObjectStub, fn: (schedule: Schedule, storage: DurableObjectStorage) => R | Promise<R>): Promise<R> {
  return runInDurableObject(stub, (_instance, state) => fn(new Schedule(state.storage), state.storage));
}

const rows = (storage: DurableObjectStorage) =>
  storage.sql.exec<{ kind: string; due_at: number }>("SELECT kind, due_at FROM schedule ORDER BY due_at").toArray().map((r) => ({ ...r }));

describe("session schedule", () => {
  it("keeps one task per kind: setting it again replaces its time", () =>
    inSchedule(freshStub("replace"), async (schedule, storage) => {
      const at = Date.now() + 60_000;
      await schedule.set("wake", at);
      await schedule.set("wake", at + 1_000);
      expect(rows(storage)).toEqual([{ kind: "wake", due_at: at + 1_000 }]);
      expect(schedule.has("wake")).toBe(true);
      expect(schedule.has("idle")).toBe(false);
      expect(await storage.getAlarm()).toBe(at + 1_000);
    }));

  it("keeps the alarm at the earliest due task, and removes it when none is left", () =>
    inSchedule(freshStub("alarm"), async (schedule, storage) => {
      const base = Date.now() + 60_000;
      await schedule.set("outbox", base + 3_000);
      await schedule.set("reconnect", base + 1_000);
      await schedule.set("idle", base + 2_000);
      expect(await storage.getAlarm()).toBe(base + 1_000);
      await schedule.clear("reconnect");
      expect(await storage.getAlarm()).toBe(base + 2_000);
      // Moving a task later moves the alarm with it when it was the earliest.
      await schedule.set("idle", base + 5_000);
      expect(await storage.getAlarm()).toBe(base + 3_000);
      await schedule.clear("idle", "outbox");
      expect(rows(storage)).toEqual([]);
      expect(await storage.getAlarm()).toBeNull();
    }));

  it("takes the tasks due by a time, earliest first, and leaves the later ones", () =>
    inSchedule(freshStub("due"), async (schedule, storage) => {
      const base = Date.now() + 60_000;
      await schedule.set("outbox", base + 3_000);
      await schedule.set("wake", base + 2_000);
      await schedule.set("reconnect", base + 1_000);
      expect(schedule.takeDue(base + 2_000)).toEqual([
        { kind: "reconnect", dueAt: base + 1_000 },
        { kind: "wake", dueAt: base + 2_000 },
      ]);
      expect(rows(storage)).toEqual([{ kind: "outbox", due_at: base + 3_000 }]);
      expect(schedule.takeDue(base + 2_999)).toEqual([]);
      await schedule.syncAlarm();
      expect(await storage.getAlarm()).toBe(base + 3_000);
    }));

  it("fires on the object's alarm: due tasks are taken, the alarm moves to the next one", async () => {
    const stub = freshStub("fire");
    const later = Date.now() + 10 * 60_000;
    await inSchedule(stub, async (schedule) => {
      await schedule.set("idle", Date.now() - 1_000);
      await schedule.set("reconnect", Date.now() - 500);
      await schedule.set("wake", later);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const after = await inSchedule(stub, async (_schedule, storage) => ({ rows: rows(storage), alarm: await storage.getAlarm() }));
    expect(after).toEqual({ rows: [{ kind: "wake", due_at: later }], alarm: later });
  });
});
