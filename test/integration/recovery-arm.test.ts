import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hasQueuedSends, sessionsWithStaleSends } from "../../src/db/backlog.repo";
import { database } from "../../src/db/client";
import { findDelivery } from "../../src/db/webhooks.repo";
import { toTimestamp } from "../../src/domain/time";
import { forgetArmed } from "../../src/platform/recovery-arm";
import { RECOVERY_NAME } from "../../src/platform/bindings";
import { call, createAccount } from "../helpers/api";
import { newEndpoint, waitFor } from "../helpers/webhook-receiver";

// The recovery alarm is armed from the paths that create work. Each isolate caches the time
// the object's alarm will run and skips the call only until shortly before it: the alarm stops
// when nothing is owed, so work created after it must arm a new one (under `wrangler dev` the
// alarm is the only recovery: no cron runs there).

const recovery = () => env.RECOVERY.get(env.RECOVERY.idFromName(RECOVERY_NAME));
const alarmOf = () => runInDurableObject(recovery(), (_, state) => state.storage.getAlarm());

describe("arming the recovery alarm", () => {
  it("arms again for work created after the alarm ran and stopped, within the old once-a-minute window", async () => {
    const account = await createAccount();
    const endpoint = newEndpoint();
    const created = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url: endpoint.url, events: ["message.received"] } });
    expect(created.status, created.text).toBe(201);
    const hookId = created.json.webhook.id;
    // This isolate may hold another file's arm; start from a known cache.
    forgetArmed();

    // The object's alarm is due in 5.5 s (set by an earlier arm). An event arms: the object
    // answers with that time, and the isolate caches it.
    const alarmAt = Date.now() + 5_500;
    await runInDurableObject(recovery(), (_, state) => state.storage.setAlarm(alarmAt));
    const first = await call("POST", `/v1/whatsapp/webhooks/${hookId}/test`, { key: account.key });
    expect(first.status, first.text).toBe(202);
    await waitFor("the ping delivered", async () => (await findDelivery(database(env), first.json.delivery.id))?.status === "delivered");
    // Past the cached time less its margin; the alarm has run, found nothing owed, and stopped.
    await waitFor("the cache window past", async () => Date.now() > alarmAt - 4_000, 10_000);
    await runInDurableObject(recovery(), (_, state) => state.storage.deleteAlarm());

    // New work (its queue message could be lost to a crash right after) arms a new alarm.
    const second = await call("POST", `/v1/whatsapp/webhooks/${hookId}/test`, { key: account.key });
    expect(second.status, second.text).toBe(202);
    expect(await alarmOf()).not.toBeNull();
  });

  it("counts a scheduled message as work owed once it is due, not before", async () => {
    const account = await createAccount();
    const sessionId = crypto.randomUUID();
    const at = Date.now();
    await env.DB.prepare(
      `INSERT INTO messages (id, account_id, whatsapp_session_id, to_number, type, content, status, direction, cost, scheduled_at, created_at, updated_at)
       VALUES (?, ?, ?, '+14155550100', 'text', 'later', 'scheduled', 'outgoing', 0, ?, ?, ?)`,
    )
      .bind(crypto.randomUUID(), account.id, sessionId, toTimestamp(at + 60 * 60_000), toTimestamp(at), toTimestamp(at))
      .run();
    const dueBy = async (t: number) => (await sessionsWithStaleSends(database(env), "scheduled", toTimestamp(t), { after: "", limit: 10_000 })).includes(sessionId);
    expect(await dueBy(at)).toBe(false);
    expect(await dueBy(at + 61 * 60_000)).toBe(true);
    expect(await hasQueuedSends(database(env), toTimestamp(at + 61 * 60_000))).toBe(true);
    await env.DB.prepare("DELETE FROM messages WHERE account_id = ?").bind(account.id).run();
  });
});
