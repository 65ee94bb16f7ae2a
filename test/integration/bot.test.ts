import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_REGEX_RULES, localTime } from "../../src/domain/bot";
import { call, createAccount } from "../helpers/api";
import { botOutcome, botPoll, contactWrites, inbox, putBot } from "../helpers/bot";
import { balanceOf } from "../helpers/messages";
import { sandboxOf } from "../helpers/sandbox-client";
import { createPhone, linkedSession } from "../helpers/sessions";

// The auto-reply bot against the sandbox: contacts write to a linked session, the session
// object decides, accepts (charges) the reply and sends it through its outbox to the contact.

const poll = botPoll;
const PRICE_RULE = { match: "exact", pattern: "price", reply: "Our price is 10 USD" };

async function outgoingRows(accountId: string): Promise<any[]> {
  const { results } = await env.DB.prepare("SELECT * FROM messages WHERE account_id = ? AND direction = 'outgoing' ORDER BY created_at")
    .bind(accountId)
    .all();
  return results.map((r: any) => ({ ...r, metadata: r.metadata ? JSON.parse(r.metadata) : null }));
}

/** "HH:MM" `hours` from now in `timeZone`. */
function localHHMM(timeZone: string, hours: number): string {
  return localTime(new Date(Date.now() + hours * 3_600_000), timeZone).time;
}

describe("auto-reply bot", () => {
  it("answers a keyword with the rule's reply, charged and recorded as an outgoing message", async () => {
    const account = await createAccount({ balance: 100, message_cost: 7 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Dana" });
    await putBot(account, session.id, { enabled: true, keywords: [PRICE_RULE, { match: "contains", pattern: "price", reply: "not this one" }] });

    const asked = await contactWrites(account, contact.phone_number, session.phone_number, "Price");
    const outcome = await botOutcome(session.id, asked);
    expect(outcome).toMatchObject({ replied: true, reply_id: expect.any(String) });
    await expect.poll(async () => (await inbox(account, contact.phone_number)).map((m) => m.text), poll).toContain("Our price is 10 USD");

    const [reply] = await outgoingRows(account.id);
    expect(reply).toMatchObject({
      id: outcome.reply_id,
      to_number: contact.phone_number,
      from_number: session.phone_number,
      type: "text",
      content: "Our price is 10 USD",
      cost: 7,
      metadata: { bot: true, webhook: true },
    });
    expect(reply.metadata.in_reply_to).toEqual(expect.any(String));
    expect(await balanceOf(account.key)).toBe(93);
    // The API shows it like any other send.
    const shown = await call("GET", `/v1/whatsapp/messages/${reply.id}`, { key: account.key });
    expect(shown.status, shown.text).toBe(200);
  });

  it("matches catastrophic-backtracking rules in linear time and answers at once", async () => {
    const account = await createAccount({ balance: 100, message_cost: 1 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key);
    // With a backtracking engine "a"*40+"b" against these would keep the session object busy for hours.
    await putBot(account, session.id, {
      enabled: true,
      default_message: "no rule matched",
      keywords: [
        { match: "regex", pattern: "^(a|a)*$", reply: "rule 1" },
        { match: "regex", pattern: "^(a|aa)+$", reply: "rule 2" },
        { match: "regex", pattern: "(\\w|\\d)+!$", reply: "rule 3" },
        { match: "regex", pattern: "a*a*a*a*a*a*a*b", reply: "rule 4" },
      ],
    });
    const id = await contactWrites(account, contact.phone_number, session.phone_number, "a".repeat(40) + "b");
    const outcome = await botOutcome(session.id, id);
    expect(outcome).toMatchObject({ replied: true });
    const reply = await env.DB.prepare("SELECT content FROM messages WHERE id = ?").bind(outcome.reply_id).first<{ content: string }>();
    expect(reply?.content).toBe("rule 4");
  });

  it("falls back to the default message with spintax and the contact's name", async () => {
    const account = await createAccount({ balance: 100, message_cost: 1 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Eve" });
    await putBot(account, session.id, {
      enabled: true,
      name: "Shop",
      keywords: [PRICE_RULE],
      default_message: "{Hi|Hello} [name], [bot_name] got your message.",
    });

    const id = await contactWrites(account, contact.phone_number, session.phone_number, "is anyone there?");
    expect(await botOutcome(session.id, id)).toMatchObject({ replied: true });
    let texts: string[] = [];
    await expect
      .poll(async () => (texts = (await inbox(account, contact.phone_number)).map((m) => m.text)).length, poll)
      .toBe(1);
    expect(texts[0]).toMatch(/^(Hi|Hello) Eve, Shop got your message\.$/);
  });

  it("stays silent outside active hours (in the bot's time zone), and answers once they include now", async () => {
    const account = await createAccount({ balance: 100, message_cost: 1 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Finn" });
    const timezone = "Asia/Kolkata";
    const stored = await putBot(account, session.id, {
      enabled: true,
      timezone,
      active_hours: { from: localHHMM(timezone, 2), to: localHHMM(timezone, 3) },
    });
    expect(stored.active_hours.from).toMatch(/^\d\d:\d\d$/);

    const id = await contactWrites(account, contact.phone_number, session.phone_number, "hello?");
    expect(await botOutcome(session.id, id)).toEqual({ replied: false, reason: "inactive" });
    expect(await outgoingRows(account.id)).toEqual([]);

    // A window from an hour ago to an hour ahead (it may cross midnight) includes now.
    await putBot(account, session.id, { enabled: true, timezone, active_hours: { from: localHHMM(timezone, -1), to: localHHMM(timezone, 1) } });
    const again = await contactWrites(account, contact.phone_number, session.phone_number, "hello again");
    expect(await botOutcome(session.id, again)).toMatchObject({ replied: true });
    expect(await outgoingRows(account.id)).toHaveLength(1);
    expect(await balanceOf(account.key)).toBe(99);
  });

  it("does not answer when the balance cannot pay for the reply", async () => {
    const account = await createAccount({ balance: 0, message_cost: 5 });
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key);
    await putBot(account, session.id, { enabled: true });

    const id = await contactWrites(account, contact.phone_number, session.phone_number, "hi");
    expect(await botOutcome(session.id, id)).toEqual({ replied: false, reason: "insufficient_balance" });
    expect(await outgoingRows(account.id)).toEqual([]);
    expect(await balanceOf(account.key)).toBe(0);
  });

  it("answers group messages only with reply_group_msgs, in the group", { timeout: 60_000 }, async () => {
    const account = await createAccount({ balance: 100, message_cost: 1 });
    const { session } = await linkedSession(account.key);
    const hana = await createPhone(account.key, { name: "Hana" });
    const ivo = await createPhone(account.key, { name: "Ivo" });
    const sandbox = sandboxOf(account.id);
    const group = await sandbox.createGroup(hana.phone_number, { subject: "Buyers", members: [session.phone_number, ivo.phone_number] });
    await putBot(account, session.id, { enabled: true, keywords: [PRICE_RULE] });

    const ignored = await sandbox.sendGroupMessage(hana.phone_number, group.jid, { type: "text", text: "price" });
    expect(await botOutcome(session.id, ignored.id)).toEqual({ replied: false, reason: "group" });
    expect(await outgoingRows(account.id)).toEqual([]);

    await putBot(account, session.id, { enabled: true, keywords: [PRICE_RULE], actions: { reply_group_msgs: true } });
    const asked = await sandbox.sendGroupMessage(ivo.phone_number, group.jid, { type: "text", text: "price" });
    expect(await botOutcome(session.id, asked.id)).toMatchObject({ replied: true });
    for (const member of [hana, ivo]) {
      await expect
        .poll(async () => (await inbox(account, member.phone_number)).find((m) => m.text === "Our price is 10 USD"), poll)
        .toMatchObject({ group_jid: group.jid, from: session.phone_number });
    }
    const rows = await outgoingRows(account.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ to_number: group.jid, cost: 1, metadata: { bot: true } });
    await expect.poll(async () => (await env.DB.prepare("SELECT status FROM messages WHERE id = ?").bind(rows[0].id).first())?.status, poll).not.toBe("queued");
  });

  it("GET answers the defaults until set, then what PUT stored", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const before = await call("GET", `/v1/whatsapp/sessions/${session.id}/bot`, { key: account.key });
    expect(before.status, before.text).toBe(200);
    expect(before.json.bot).toMatchObject({ enabled: false, timezone: "UTC", active_hours: { from: "always", to: "always" }, keywords: [] });

    const stored = await putBot(account, session.session_id, {
      enabled: true,
      name: "Helper",
      timezone: "+1",
      language: "fr",
      active_days: { sunday: false },
      active_hours: { from: "8:00", to: "18:30" },
      keywords: [{ match: "regex", pattern: "^order\\s+\\d+$", reply: "{Checking|Looking} order" }],
    });
    expect(stored).toMatchObject({ timezone: "+01:00", active_hours: { from: "08:00", to: "18:30" }, active_days: { sunday: false, monday: true } });
    const after = await call("GET", `/v1/whatsapp/sessions/${session.id}/bot`, { key: account.key });
    expect(after.json.bot).toEqual(stored);
    expect(after.json.bot.keywords[0]).toEqual({ match: "regex", pattern: "^order\\s+\\d+$", reply: "{Checking|Looking} order", case_sensitive: false });
  });

  it("keeps a bot stored with rules the RE2 engine cannot run, without those rules", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const stored = await putBot(account, session.id, { enabled: true, keywords: [PRICE_RULE] });
    // As a bot saved under the former JavaScript engine could be: a lookahead rule among good ones.
    const legacy = { ...stored, keywords: [{ match: "regex", pattern: "^price(?=s)", reply: "x", case_sensitive: false }, ...stored.keywords] };
    await runInDurableObject(env.SESSION.get(env.SESSION.idFromName(session.id)), (_instance: unknown, state: DurableObjectState) => {
      state.storage.sql.exec("UPDATE bot_settings SET settings = ? WHERE id = 1", JSON.stringify(legacy));
    });
    const res = await call("GET", `/v1/whatsapp/sessions/${session.id}/bot`, { key: account.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.bot).toEqual(stored);
    // The cleaned settings were stored back, so the rule is dropped (and logged) once, not on every batch.
    const row = await runInDurableObject(env.SESSION.get(env.SESSION.idFromName(session.id)), (_instance: unknown, state: DurableObjectState) =>
      state.storage.sql.exec<{ settings: string }>("SELECT settings FROM bot_settings WHERE id = 1").one(),
    );
    expect(JSON.parse(row.settings)).toEqual(stored);
  });

  it("refuses more regex rules than the cap, naming the keywords field", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const keywords = Array.from({ length: MAX_REGEX_RULES + 1 }, (_, i) => ({ match: "regex", pattern: `^r${i}$`, reply: "x" }));
    const res = await call("PUT", `/v1/whatsapp/sessions/${session.id}/bot`, { key: account.key, body: { enabled: true, keywords } });
    expect(res.status, res.text).toBe(422);
    expect(res.json.error.details).toEqual([expect.objectContaining({ field: "keywords", in: "body", message: expect.stringContaining(`At most ${MAX_REGEX_RULES} regex rules`) })]);
    const ok = await call("PUT", `/v1/whatsapp/sessions/${session.id}/bot`, { key: account.key, body: { enabled: true, keywords: keywords.slice(1) } });
    expect(ok.status, ok.text).toBe(200);
  });

  it("rejects invalid settings with 422 naming each field", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const res = await call("PUT", `/v1/whatsapp/sessions/${session.id}/bot`, {
      key: account.key,
      body: {
        enabled: "yes",
        timezone: "Mars/Olympus",
        active_hours: { from: "09:00", to: "always" },
        keywords: [
          { match: "regex", pattern: "(\\w+) \\1", reply: "x" },
          { match: "regex", pattern: "(unclosed", reply: "x" },
          { match: "contains", pattern: "", reply: "x" },
        ],
      },
    });
    expect(res.status, res.text).toBe(422);
    expect(res.json.error.code).toBe("validation_failed");
    const fields = res.json.error.details.map((d: any) => d.field);
    expect(fields).toEqual(
      expect.arrayContaining(["enabled", "timezone", "active_hours.to", "keywords.0.pattern", "keywords.1.pattern", "keywords.2.pattern"]),
    );
    expect(res.json.error.details.every((d: any) => d.in === "body")).toBe(true);
    expect(res.json.error.details.find((d: any) => d.field === "keywords.0.pattern").message).toMatch(/^Backreferences .* are not supported/);
    // Nothing was stored.
    const get = await call("GET", `/v1/whatsapp/sessions/${session.id}/bot`, { key: account.key });
    expect(get.json.bot.enabled).toBe(false);
  });

  it("keeps each account's bot to itself (404 on another account's session)", async () => {
    const owner = await createAccount();
    const other = await createAccount();
    const { session } = await linkedSession(owner.key);
    for (const id of [session.id, session.session_id]) {
      const get = await call("GET", `/v1/whatsapp/sessions/${id}/bot`, { key: other.key });
      expect(get.status, get.text).toBe(404);
      const put = await call("PUT", `/v1/whatsapp/sessions/${id}/bot`, { key: other.key, body: { enabled: true } });
      expect(put.status, put.text).toBe(404);
    }
    const missing = await call("GET", `/v1/whatsapp/sessions/${crypto.randomUUID()}/bot`, { key: owner.key });
    expect(missing.status).toBe(404);
    const unauthenticated = await call("GET", `/v1/whatsapp/sessions/${session.id}/bot`);
    expect(unauthenticated.status).toBe(401);
    const mine = await call("GET", `/v1/whatsapp/sessions/${session.id}/bot`, { key: owner.key });
    expect(mine.json.bot.enabled).toBe(false);
  });
});
