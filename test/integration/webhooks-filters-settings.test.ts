import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { createPhone, createSandboxSession, waitForSession } from "../helpers/sessions";
import { newEndpoint, planResponses, received, waitFor } from "../helpers/webhook-receiver";

// Seed 004's webhook filters `settings_types` and `mentions`, with a real session and a real
// receiver, and DELETE /v1/whatsapp/webhooks (every webhook of the account, no other's).

async function createWebhook(account: TestAccount, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body });
  expect(res.status, res.text).toBe(201);
  return res.json.webhook as { id: string; secret: string; filters: Record<string, unknown> };
}

async function eventsAt(key: string, secret: string) {
  const wh = new Webhook(secret);
  return (await received(key)).map((r) => wh.verify(r.body, r.headers) as any);
}

/** The events of the webhook's delivery rows (written for every subscriber in one batch per event). */
async function deliveredEvents(account: TestAccount, hookId: string): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const res = await call("GET", `/v1/whatsapp/webhooks/${hookId}/deliveries?limit=100`, { key: account.key });
  expect(res.status, res.text).toBe(200);
  return res.json.deliveries.map((d: { payload: { type: string; data: Record<string, unknown> } }) => d.payload);
}

async function deliveredTypes(account: TestAccount, hookId: string): Promise<string[]> {
  return (await deliveredEvents(account, hookId)).map((e) => e.type);
}

async function deliveriesOf(hookId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE webhook_id = ?").bind(hookId).first<{ n: number }>();
  return row?.n ?? 0;
}

describe("settings_types and mentions filters", () => {
  it("stores them, and refuses settings_types beside chat or message filters with 422", async () => {
    const account = await createAccount();
    const url = newEndpoint().url;
    const hook = await createWebhook(account, { url, filters: { settings_types: ["groups", "system", "groups"], mentions: ["me", "+1 415 555 2671"] } });
    expect(hook.filters).toEqual({ settings_types: ["groups", "system"], mentions: ["me", "14155552671"] });

    for (const combined of [{ chat_types: ["group"] }, { message_types: ["text"] }, { chat_ids: ["120363000000000000@g.us"] }]) {
      const field = Object.keys(combined)[0];
      const res = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url, filters: { settings_types: ["messages"], ...combined } } });
      expect(res.status, res.text).toBe(422);
      expect(res.json.error.details.map((d: { field?: string }) => d.field)).toContain(`filters.${field}`);
    }
    const bad = await call("POST", "/v1/whatsapp/webhooks", { key: account.key, body: { url, filters: { settings_types: ["calls"] } } });
    expect(bad.status).toBe(422);
    const patch = await call("PATCH", `/v1/whatsapp/webhooks/${hook.id}`, { key: account.key, body: { filters: { settings_types: ["groups"], message_types: ["text"] } } });
    expect(patch.status).toBe(422);
    // Nothing stored by the refusals: the one webhook, its filters as created.
    const list = await call("GET", "/v1/whatsapp/webhooks", { key: account.key });
    expect(list.json.webhooks.map((w: { id: string; filters: unknown }) => [w.id, w.filters])).toEqual([[hook.id, hook.filters]]);
  });

  it("settings_types system gets connected and not the QR; groups gets group events and not messages; mentions me gets only the mention", async () => {
    const account = await createAccount({ balance: 1000 });
    const system = await createWebhook(account, { url: newEndpoint().url, filters: { settings_types: ["system"] } });
    const groups = await createWebhook(account, { url: newEndpoint().url, filters: { settings_types: ["groups"] } });
    const mentionsMe = newEndpoint();
    const mentionsHook = await createWebhook(account, { url: mentionsMe.url, events: ["message.received"], filters: { mentions: ["me"] } });
    const everything = await createWebhook(account, { url: newEndpoint().url });

    const phone = await createPhone(account.key);
    const { session } = await createSandboxSession(account.key);
    const scan = await call("POST", `/v1/sandbox/sessions/${session.id}/scan`, { key: account.key, body: { phone_number: phone.phone_number } });
    expect(scan.status, scan.text).toBe(200);
    await waitForSession(account.key, session.id, (s) => s.status === "connected");
    const hana = await createPhone(account.key, { name: "Hana" });
    const ivo = await createPhone(account.key, { name: "Ivo" });

    const created = await call("POST", "/v1/sandbox/groups", { key: account.key, body: { owner: hana.phone_number, subject: "Filters", members: [phone.phone_number, ivo.phone_number] } });
    expect(created.status, created.text).toBe(201);
    const gid = created.json.group.jid as string;
    await waitFor("group.joined at the groups webhook", async () => (await deliveredTypes(account, groups.id)).includes("group.joined") || undefined);
    const say = async (from: string, text: string, mentions: string[] = []) => {
      const res = await call("POST", `/v1/sandbox/groups/${gid}/messages`, { key: account.key, body: { from, type: "text", text, ...(mentions.length ? { mentions } : {}) } });
      expect(res.status, res.text).toBe(201);
      return res.json.message.id as string;
    };
    await say(hana.phone_number, `hey @${phone.phone_number}, look`, [phone.phone_number]);
    await say(ivo.phone_number, `only @${hana.phone_number} this time`, [hana.phone_number]);
    // Both messages reached the unfiltered webhook: their events were emitted, each fanned out in one batch.
    const allTypes = await waitFor("two messages at the unfiltered webhook", async () => {
      const types = await deliveredTypes(account, everything.id);
      return types.filter((t) => t === "message.received").length === 2 ? types : undefined;
    });

    expect(allTypes).toEqual(expect.arrayContaining(["session.qr", "session.status", "group.joined"]));
    const systemEvents = await deliveredEvents(account, system.id);
    const statuses = systemEvents.filter((e) => e.type === "session.status");
    // Only the connected status: the pending and connecting ones are in no category.
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((e) => e.data.status === "connected")).toBe(true);
    expect(systemEvents.map((e) => e.type)).toContain("group.joined");
    expect(systemEvents.filter((e) => !["session.status", "group.joined"].includes(e.type))).toEqual([]);
    const groupTypes = await deliveredTypes(account, groups.id);
    expect(groupTypes.length).toBeGreaterThan(0);
    expect(groupTypes.every((t) => t.startsWith("group."))).toBe(true);

    expect(await deliveredTypes(account, mentionsHook.id)).toEqual(["message.received"]);
    const [mention] = await waitFor("the mention delivered", async () => {
      const events = await eventsAt(mentionsMe.key, mentionsHook.secret);
      return events.length ? events : undefined;
    });
    expect(mention.data).toMatchObject({
      chat: gid,
      chat_id: gid,
      author: hana.phone_number,
      from_number: hana.phone_number,
      mentions: [phone.phone_number],
      mentions_me: true,
      content: `hey @${phone.phone_number}, look`,
    });
    // The stored row keeps the group and the author too.
    const row = await call("GET", `/v1/whatsapp/messages/${mention.data.id}`, { key: account.key });
    expect(row.status, row.text).toBe(200);
    expect(row.json.data).toMatchObject({
      direction: "incoming",
      from_number: hana.phone_number,
      payload: { chat: gid, chat_id: gid, chat_type: "group", author: hana.phone_number, mentions: [phone.phone_number] },
    });
  });
});

describe("DELETE /v1/whatsapp/webhooks", () => {
  it("deletes every webhook of the account with their pending deliveries, and no other account's", async () => {
    const account = await createAccount();
    const other = await createAccount();
    const failing = newEndpoint();
    await planResponses(failing.key, [500, 500, 500, 500]);
    const a = await createWebhook(account, { url: failing.url });
    const b = await createWebhook(account, { url: newEndpoint().url, events: ["message.received"] });
    const theirs = await createWebhook(other, { url: newEndpoint().url });

    // A delivery still owed (its receiver answers 500: a retry is scheduled).
    const test = await call("POST", `/v1/whatsapp/webhooks/${a.id}/test`, { key: account.key });
    expect(test.status, test.text).toBe(202);
    await waitFor("the first attempt failed", async () => {
      const res = await call("GET", `/v1/whatsapp/webhooks/${a.id}/deliveries`, { key: account.key });
      return res.json.deliveries[0]?.status === "failed" || undefined;
    });
    const theirTest = await call("POST", `/v1/whatsapp/webhooks/${theirs.id}/test`, { key: other.key });
    expect(theirTest.status).toBe(202);

    const res = await call("DELETE", "/v1/whatsapp/webhooks", { key: account.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ success: true, deleted: 2 });
    expect((await call("GET", "/v1/whatsapp/webhooks", { key: account.key })).json.webhooks).toEqual([]);
    expect((await call("GET", `/v1/whatsapp/webhooks/${b.id}`, { key: account.key })).status).toBe(404);
    expect(await deliveriesOf(a.id)).toBe(0);

    // The other account keeps its webhook and its delivery.
    expect((await call("GET", "/v1/whatsapp/webhooks", { key: other.key })).json.webhooks.map((w: { id: string }) => w.id)).toEqual([theirs.id]);
    expect(await deliveriesOf(theirs.id)).toBe(1);
    // Again: nothing left to delete.
    expect((await call("DELETE", "/v1/whatsapp/webhooks", { key: account.key })).json.deleted).toBe(0);
  });

  it("with a body {url} deletes only the webhooks with that URL; 404 when none; strict body", async () => {
    const account = await createAccount();
    const other = await createAccount();
    const kept = await createWebhook(account, { url: newEndpoint().url });
    const target = newEndpoint().url;
    const gone = await createWebhook(account, { url: target });
    const theirs = await createWebhook(other, { url: target });

    const bad = await call("DELETE", "/v1/whatsapp/webhooks", { key: account.key, body: { url: target, events: ["message.received"] } });
    expect(bad.status, bad.text).toBe(422);
    const res = await call("DELETE", "/v1/whatsapp/webhooks", { key: account.key, body: { url: target } });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ success: true, deleted: 1 });
    expect((await call("GET", "/v1/whatsapp/webhooks", { key: account.key })).json.webhooks.map((w: { id: string }) => w.id)).toEqual([kept.id]);
    expect((await call("GET", `/v1/whatsapp/webhooks/${gone.id}`, { key: account.key })).status).toBe(404);
    // Another account's webhook with the same URL stays; a URL no webhook has is 404.
    expect((await call("GET", `/v1/whatsapp/webhooks/${theirs.id}`, { key: other.key })).status).toBe(200);
    const again = await call("DELETE", "/v1/whatsapp/webhooks", { key: account.key, body: { url: target } });
    expect(again.status, again.text).toBe(404);
    expect((await call("GET", "/v1/whatsapp/webhooks", { key: account.key })).json.webhooks).toHaveLength(1);
  });
});
