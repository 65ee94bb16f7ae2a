import { describe, expect, it } from "vitest";
import { createAccount } from "../helpers/api";
import { botOutcome, botPoll, contactWrites, putBot, sessionMessages } from "../helpers/bot";
import { balanceOf } from "../helpers/messages";
import { createPhone, linkedSession } from "../helpers/sessions";

// Two auto-replying numbers answer each other: chat_limits must end the exchange. Here two
// sessions of one account, each linked to its own sandbox phone, face each other for real.

describe("auto-reply bot chat limits", () => {
  it("two bots facing each other stop at max_replies each", { timeout: 90_000 }, async () => {
    const account = await createAccount({ balance: 1000, message_cost: 1 });
    const a = await linkedSession(account.key);
    const b = await linkedSession(account.key);
    const limits = { max_replies: 3, window_minutes: 60, min_interval_seconds: 0 };
    await putBot(account, a.session.id, { enabled: true, default_message: "A here", chat_limits: limits });
    await putBot(account, b.session.id, { enabled: true, default_message: "B here", chat_limits: limits });

    // B's phone writes to A once; from then on only the bots write.
    await contactWrites(account, b.phone.phone_number, a.session.phone_number, "hello A");

    // A answers the opener and B's first two replies; B's third reply is the one A refuses.
    await expect
      .poll(async () => (await sessionMessages(a.session.id, "incoming")).map((m) => m.metadata?.bot?.reason ?? null), { ...botPoll, timeout: 60_000 })
      .toContain("reply_limit");

    const aIn = await sessionMessages(a.session.id, "incoming");
    const aOut = await sessionMessages(a.session.id, "outgoing");
    const bIn = await sessionMessages(b.session.id, "incoming");
    const bOut = await sessionMessages(b.session.id, "outgoing");
    expect(aIn.map((m) => m.content)).toEqual(["hello A", "B here", "B here", "B here"]);
    expect(aIn.map((m) => m.metadata.bot.replied)).toEqual([true, true, true, false]);
    expect(aIn[3].metadata.bot).toEqual({ replied: false, reason: "reply_limit" });
    expect(aOut.map((m) => m.content)).toEqual(["A here", "A here", "A here"]);
    // Every reply of A reached B and was answered, within B's own limit.
    for (const m of bIn) expect(await botOutcome(b.session.id, m.provider_message_id)).toMatchObject({ replied: true });
    expect(bIn.map((m) => m.content)).toEqual(["A here", "A here", "A here"]);
    expect(bOut.map((m) => m.content)).toEqual(["B here", "B here", "B here"]);
    // Six replies charged, nothing else.
    expect(await balanceOf(account.key)).toBe(994);
  });

  // A person's "hi" then "price?" a moment later are both answered with the default limits (the
  // cooldown was 2 s; the pause here is a quick typist's).
  it("with default chat_limits, answers two messages of a person a second apart", { timeout: 60_000 }, async () => {
    const account = await createAccount({ balance: 100, message_cost: 1 });
    const { session } = await linkedSession(account.key);
    const ana = await createPhone(account.key, { name: "Ana" });
    const bot = await putBot(account, session.id, { enabled: true, default_message: "hello [name]", keywords: [{ match: "contains", pattern: "price", reply: "10 USD" }] });
    expect(bot.chat_limits).toEqual({ max_replies: 20, window_minutes: 60, min_interval_seconds: 1 });

    const hi = await contactWrites(account, ana.phone_number, session.phone_number, "hi");
    expect(await botOutcome(session.id, hi)).toMatchObject({ replied: true });
    // The reply slot was taken before the outcome was recorded: 1.1 s from here is past the 1 s cooldown.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const price = await contactWrites(account, ana.phone_number, session.phone_number, "price?");
    expect(await botOutcome(session.id, price)).toMatchObject({ replied: true });
    expect((await sessionMessages(session.id, "outgoing")).map((m) => m.content)).toEqual(["hello Ana", "10 USD"]);
  });

  it("answers once per min_interval_seconds in a chat, other chats unaffected", { timeout: 60_000 }, async () => {
    const account = await createAccount({ balance: 100, message_cost: 1 });
    const { session } = await linkedSession(account.key);
    const ana = await createPhone(account.key, { name: "Ana" });
    const ben = await createPhone(account.key, { name: "Ben" });
    await putBot(account, session.id, { enabled: true, default_message: "got it", chat_limits: { min_interval_seconds: 3600 } });

    const first = await contactWrites(account, ana.phone_number, session.phone_number, "one");
    expect(await botOutcome(session.id, first)).toMatchObject({ replied: true });
    const second = await contactWrites(account, ana.phone_number, session.phone_number, "two");
    expect(await botOutcome(session.id, second)).toEqual({ replied: false, reason: "cooldown" });
    const other = await contactWrites(account, ben.phone_number, session.phone_number, "hi");
    expect(await botOutcome(session.id, other)).toMatchObject({ replied: true });

    const out = await sessionMessages(session.id, "outgoing");
    expect(out.map((m) => m.to_number).sort()).toEqual([ana.phone_number, ben.phone_number].sort());
    expect(await balanceOf(account.key)).toBe(98);
  });
});
