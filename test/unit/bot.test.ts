import { describe, expect, it } from "vitest";
import {
  BotSettingsSchema,
  DEFAULT_BOT_SETTINGS,
  MAX_REGEX_RULES,
  chatLimitReason,
  decideReply,
  isActive,
  localTime,
  normalizeTimezone,
  regexRuleProblem,
  renderTemplate,
  spin,
  type BotSettings,
  type IncomingForBot,
} from "../../src/domain/bot";

// Monday 2024-01-15, 10:30 UTC.
const MONDAY_1030 = new Date("2024-01-15T10:30:00Z");
const first = () => 0;
const last = () => 0.999;

function settings(input: Record<string, unknown> = {}): BotSettings {
  return BotSettingsSchema.parse({ enabled: true, ...input });
}

const incoming = (over: Partial<IncomingForBot> = {}): IncomingForBot => ({
  text: "hello",
  isGroup: false,
  fromMe: false,
  pushName: "Alice",
  from: "15550001111",
  ...over,
});

describe("spintax", () => {
  it("picks one option per choice with the given random source", () => {
    expect(spin("{Hi|Hello|Hey} there", first)).toBe("Hi there");
    expect(spin("{Hi|Hello|Hey} there", last)).toBe("Hey there");
    expect(spin("{Hi|Hello} {a|b}", () => 0.6)).toBe("Hello b");
  });

  it("supports nesting and empty options", () => {
    expect(spin("{a|{b|c}}", last)).toBe("c");
    expect(spin("x{|!}", first)).toBe("x");
  });

  it("keeps what is not a choice, and escapes, literal", () => {
    expect(spin("{name} and {unclosed | pipe", first)).toBe("{name} and {unclosed | pipe");
    expect(spin("a } b | c", first)).toBe("a } b | c");
    expect(spin("\\{a\\|b\\} \\\\ \\[name\\]", first)).toBe("{a|b} \\ [name]");
    expect(spin("[name]", first)).toBe("[name]");
  });

  // Time does not advance inside synchronous code in workerd, so Date.now() cannot measure this:
  // a quadratic parse of 40,000 characters would run into the test's timeout instead.
  it("stays linear on hostile input", { timeout: 5_000 }, () => {
    const hostile = "{".repeat(20_000) + "|".repeat(20_000);
    expect(spin(hostile, first).length).toBeGreaterThan(0);
  });
});

describe("placeholders", () => {
  it("fills known placeholders once: values are never read as templates", () => {
    const vars = new Map([
      ["name", "{Evil|Eve} [number]"],
      ["number", "1555"],
    ]);
    expect(renderTemplate("{Hi|Hello} [name] ([number]) [unknown]", vars, first)).toBe("Hi {Evil|Eve} [number] (1555) [unknown]");
    expect(renderTemplate("{[name]|x}", new Map([["name", "Bob"]]), first)).toBe("Bob");
    expect(renderTemplate("\\[name\\]", new Map([["name", "Bob"]]), first)).toBe("[name]");
  });
});

describe("user-chosen keys", () => {
  it("placeholders named like Object members stay literal, and nothing reaches Object.prototype", () => {
    const text = "[__proto__] [constructor] [prototype] [to_string] [has_own_property] [name]";
    expect(renderTemplate(text, new Map([["name", "Bob"]]), first)).toBe("[__proto__] [constructor] [prototype] [to_string] [has_own_property] Bob");
    const s = settings({ default_message: "[__proto__][constructor]", keywords: [{ match: "exact", pattern: "__proto__", reply: "[constructor]" }] });
    expect(decideReply(s, incoming({ text: "__proto__" }), MONDAY_1030, first)).toEqual({ text: "[constructor]" });
    expect(decideReply(s, incoming({ text: "constructor" }), MONDAY_1030, first)).toEqual({ text: "[__proto__][constructor]" });
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  it("refuses unknown keys, __proto__ included, in the settings", () => {
    const result = BotSettingsSchema.safeParse(JSON.parse('{"__proto__": {"enabled": true}, "actions": {"constructor": 1}}'));
    expect(result.success).toBe(false);
    expect(({} as Record<string, unknown>).enabled).toBeUndefined();
  });
});

describe("settings schema", () => {
  it("has safe defaults: disabled, always active", () => {
    expect(DEFAULT_BOT_SETTINGS).toMatchObject({
      enabled: false,
      timezone: "UTC",
      active_hours: { from: "always", to: "always" },
      actions: { send_default_msg: true, reply_msgs: true, reply_group_msgs: false },
      keywords: [],
    });
    expect(Object.values(DEFAULT_BOT_SETTINGS.active_days).every(Boolean)).toBe(true);
  });

  it("normalizes times and seed-style offsets", () => {
    const s = settings({ timezone: "+1", active_hours: { from: "5:00", to: "17:30" } });
    expect(s.active_hours).toEqual({ from: "05:00", to: "17:30" });
    expect(s.timezone).toBe("+01:00");
    expect(normalizeTimezone("africa/harare")).toBe("Africa/Harare");
    expect(normalizeTimezone("Mars/Base")).toBeNull();
  });

  it("names every invalid field", () => {
    const result = BotSettingsSchema.safeParse({
      timezone: "Nowhere/City",
      active_hours: { from: "25:00", to: "always" },
      keywords: [{ match: "regex", pattern: "(", reply: "x" }, { match: "like", pattern: "a", reply: "b" }],
      bot_name: "seed name",
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["timezone", "active_hours.from", "keywords.0.pattern", "keywords.1.match", ""]));
  });

  it("rejects mixed always/time hours", () => {
    const result = BotSettingsSchema.safeParse({ active_hours: { from: "09:00", to: "always" } });
    expect(result.error?.issues.map((i) => i.path.join("."))).toEqual(["active_hours.to"]);
  });
});

describe("regex rules", () => {
  it("rejects invalid and long patterns, and those RE2 cannot run (backreferences, lookaround), each with its reason", () => {
    expect(regexRuleProblem("[a-", false)).toBe("Not a valid RE2 regular expression: error parsing regexp: missing closing ]: `[a-`");
    expect(regexRuleProblem("a".repeat(201), false)).toMatch(/At most 200/);
    for (const p of ["(a)\\1", "(?<q>a)\\k<q>"]) expect(regexRuleProblem(p, false), p).toMatch(/^Backreferences .* are not supported/);
    for (const p of ["price(?=s)", "(?!x)y", "(?<=a)b", "(?<!a)b"]) expect(regexRuleProblem(p, false), p).toMatch(/^Lookahead and lookbehind .* are not supported/);
    // An ordinary syntax error is not blamed on backreferences or lookaround.
    expect(regexRuleProblem("(unclosed", false)).toBe("Not a valid RE2 regular expression: error parsing regexp: missing closing ): `(unclosed`");
    expect(regexRuleProblem("(unclosed", false)).not.toMatch(/not supported/);
    expect(regexRuleProblem("[\\p{L}\\d]{1000}x", false)).toMatch(/Too complex/);
    expect(regexRuleProblem("^order\\s+#?\\d+$", false)).toBeNull();
  });

  it("names the rule's pattern field when a pattern is refused", () => {
    const result = BotSettingsSchema.safeParse({ keywords: [{ match: "contains", pattern: "(a)\\1", reply: "ok" }, { match: "regex", pattern: "(a)\\1", reply: "x" }] });
    expect(result.error?.issues.map((i) => i.path.join("."))).toEqual(["keywords.1.pattern"]);
    // Linear-time patterns are fine, however they nest.
    expect(BotSettingsSchema.safeParse({ keywords: [{ match: "regex", pattern: "([a-z]+)+$", reply: "x" }] }).success).toBe(true);
  });

  // Each pattern takes exponential time in a backtracking engine on the input given: with
  // RegExp this test would not finish. RE2 answers in linear time.
  it("answers catastrophic-backtracking patterns correctly, at once", () => {
    const cases: [string, string, boolean][] = [
      ["^(a|a)*$", "a".repeat(40) + "b", false],
      ["^(a|a)*$", "a".repeat(40), true],
      ["^(a|aa)+$", "a".repeat(40) + "b", false],
      ["^(a|aa)+$", "a".repeat(41), true],
      ["a*a*a*a*a*a*a*b", "a".repeat(40), false],
      ["a*a*a*a*a*a*a*b", "a".repeat(40) + "b", true],
      ["(\\w|\\d)+!$", "1".repeat(40) + "b", false],
      ["(\\w|\\d)+!$", "1".repeat(40) + "!", true],
      ["([a-z]+)+$", "a".repeat(40) + "1", false],
      ["(x+x+)+y", "x".repeat(1000), false],
    ];
    // No Date.now() check: time does not advance inside synchronous code in workerd. A
    // backtracking engine would not finish within the test's timeout.
    for (const [pattern, text, matches] of cases) {
      const s = settings({ keywords: [{ match: "regex", pattern, reply: "matched" }], default_message: "no match" });
      expect(decideReply(s, incoming({ text }), MONDAY_1030, first)?.text, `${pattern} on ${text.length} chars`).toBe(matches ? "matched" : "no match");
    }
  });

  it("keeps the flags: case-insensitive unless case_sensitive, Unicode, JavaScript \\u escapes", () => {
    const reply = (pattern: string, text: string, case_sensitive = false) =>
      decideReply(settings({ keywords: [{ match: "regex", pattern, reply: "yes", case_sensitive }], default_message: "no" }), incoming({ text }), MONDAY_1030, first)?.text;
    expect(reply("^caf\\u00e9$", "CAFÉ")).toBe("yes");
    expect(reply("^caf\\u{e9}$", "café")).toBe("yes");
    expect(reply("^café$", "CAFÉ", true)).toBe("no");
    expect(reply("\\p{L}+ \\d+", "Заказ 42")).toBe("yes");
    expect(reply("order", "my ORDER please")).toBe("yes");
    // An escaped backslash before u stays a backslash.
    expect(reply("^a\\\\u0041$", "a\\u0041")).toBe("yes");
  });
});

describe("regex rules as JavaScript wrote them", () => {
  const reply = (pattern: string, text: string) =>
    decideReply(settings({ keywords: [{ match: "regex", pattern, reply: "yes" }], default_message: "no" }), incoming({ text }), MONDAY_1030, first)?.text;

  it("reads a \\uD83D\\uDE00 surrogate pair as one code point", () => {
    expect(reply("^\\uD83D\\uDE00$", "😀")).toBe("yes");
    expect(reply("^[\\uD83D\\uDE00\\uD83D\\uDE01]+$", "😁😀")).toBe("yes");
    expect(reply("^\\uD83D\\uDE00$", "😁")).toBe("no");
    expect(reply("^\\u{1F600}$", "😀")).toBe("yes");
  });

  it("\\s and \\S match what they match in JavaScript, Unicode spaces included", () => {
    const spaces = ["\u00a0", "\u202f", "\u2028", "\u2029", "\ufeff", "\u3000", "\u2003", "\u1680", "\u000b", "\t"];
    for (const sp of spaces) {
      const text = `order${sp}42`;
      const label = `U+${sp.codePointAt(0)!.toString(16)}`;
      expect(/^order\s42$/.test(text), label).toBe(true);
      expect(reply("^order\\s42$", text), label).toBe("yes");
      expect(reply("^order[\\s,]42$", text), label).toBe("yes");
      expect(reply("^order\\S42$", text), label).toBe("no");
      expect(reply("^order[^\\s]42$", text), label).toBe("no");
      expect(reply("^order[^\\S]42$", text), label).toBe("yes");
    }
    expect(reply("^order\\S42$", "order#42")).toBe("yes");
    expect(reply("^order[x\\S]42$", "order#42")).toBe("yes");
    expect(reply("^order[x\\S]42$", "order\u00a042")).toBe("no");
    // The JavaScript idioms for "any character", and a literal [ inside a class.
    expect(reply("^a[\\s\\S]b$", "a\nb")).toBe("yes");
    expect(reply("^a[^]b$", "a\u2028b")).toBe("yes");
    expect(reply("^a[]b$", "ab")).toBe("no");
    expect(reply("^[[:]+$", "[:[")).toBe("yes");
    expect(regexRuleProblem("[^a\\S]", false)).toMatch(/negated class/);
  });

  // The 21st character from the end is an "a": a DFA for this needs 2^21 states. The set's small
  // memory budget runs out; RE2 then resets its cache or falls back to its NFA, still correct.
  it("stays correct when a pattern's DFA outgrows the set's memory budget", () => {
    let seed = 7;
    const text = Array.from({ length: 1000 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) & 1024 ? "a" : "b")).join("");
    for (const t of [text, `${text.slice(0, -21)}a${"b".repeat(20)}`, `${text.slice(0, -21)}b${"a".repeat(20)}`]) {
      expect(reply("[ab]*a[ab]{20}$", t)).toBe(/a[ab]{20}$/.test(t) ? "yes" : "no");
    }
  });

  it("caps regex rules per bot, naming the keywords field", () => {
    const rule = (i: number) => ({ match: "regex", pattern: `^r${i}$`, reply: `${i}` });
    const max = Array.from({ length: MAX_REGEX_RULES }, (_, i) => rule(i));
    expect(BotSettingsSchema.safeParse({ keywords: [...max, { match: "contains", pattern: "x", reply: "y" }] }).success).toBe(true);
    const over = BotSettingsSchema.safeParse({ keywords: [...max, rule(MAX_REGEX_RULES)] });
    expect(over.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([["keywords", expect.stringMatching(`At most ${MAX_REGEX_RULES} regex rules`)]]);
  });

  it("walks the rules in order, each regex with its own case flag, with one set for all", () => {
    const s = settings({
      keywords: [
        { match: "regex", pattern: "^PRICE$", reply: "sensitive", case_sensitive: true },
        { match: "contains", pattern: "pri", reply: "contains" },
        { match: "regex", pattern: "^price$", reply: "insensitive" },
      ],
      default_message: "none",
    });
    expect(decideReply(s, incoming({ text: "PRICE" }), MONDAY_1030, first)?.text).toBe("sensitive");
    expect(decideReply(s, incoming({ text: "Price" }), MONDAY_1030, first)?.text).toBe("contains");
    const regexOnly = settings({ keywords: [s.keywords[0], s.keywords[2]], default_message: "none" });
    expect(decideReply(regexOnly, incoming({ text: "Price" }), MONDAY_1030, first)?.text).toBe("insensitive");
    expect(decideReply(regexOnly, incoming({ text: "PRICE" }), MONDAY_1030, first)?.text).toBe("sensitive");
    expect(decideReply(regexOnly, incoming({ text: "prices" }), MONDAY_1030, first)?.text).toBe("none");
  });
});

describe("chat limits", () => {
  const limits = { max_replies: 3, window_minutes: 10, min_interval_seconds: 5 };
  const t0 = 1_700_000_000_000;

  it("defaults to 20 replies an hour per chat, 1 s apart, and stays optional", () => {
    expect(DEFAULT_BOT_SETTINGS.chat_limits).toEqual({ max_replies: 20, window_minutes: 60, min_interval_seconds: 1 });
    expect(settings({ chat_limits: { max_replies: 5 } }).chat_limits).toEqual({ max_replies: 5, window_minutes: 60, min_interval_seconds: 1 });
    const bad = BotSettingsSchema.safeParse({ chat_limits: { max_replies: 0, window_minutes: 1441, min_interval_seconds: -1, extra: 1 } });
    expect(bad.error?.issues.map((i) => i.path.join("."))).toEqual(
      expect.arrayContaining(["chat_limits.max_replies", "chat_limits.window_minutes", "chat_limits.min_interval_seconds", "chat_limits"]),
    );
  });

  it("allows max_replies within the window, min_interval_seconds apart", () => {
    expect(chatLimitReason(limits, { inWindow: 0, lastAt: null }, t0)).toBeNull();
    expect(chatLimitReason(limits, { inWindow: 1, lastAt: t0 - 4_999 }, t0)).toBe("cooldown");
    expect(chatLimitReason(limits, { inWindow: 1, lastAt: t0 - 5_000 }, t0)).toBeNull();
    expect(chatLimitReason(limits, { inWindow: 2, lastAt: t0 - 30_000 }, t0)).toBeNull();
    expect(chatLimitReason(limits, { inWindow: 3, lastAt: t0 - 30_000 }, t0)).toBe("reply_limit");
    // The cooldown looks at the last reply even when it is older than the window.
    expect(chatLimitReason({ ...limits, window_minutes: 1, min_interval_seconds: 120 }, { inWindow: 0, lastAt: t0 - 90_000 }, t0)).toBe("cooldown");
    expect(chatLimitReason({ ...limits, min_interval_seconds: 0 }, { inWindow: 1, lastAt: t0 }, t0)).toBeNull();
  });
});

describe("isActive", () => {
  it("honours active days in the bot's time zone", () => {
    const days = { ...DEFAULT_BOT_SETTINGS.active_days, monday: false };
    expect(isActive(settings({ active_days: days }), MONDAY_1030)).toBe(false);
    // 10:30 UTC Monday is 23:30 Monday in Auckland (UTC+13 in January), Tuesday 00:30 in Kiritimati (UTC+14).
    expect(localTime(MONDAY_1030, "Pacific/Auckland")).toEqual({ weekday: "monday", date: "2024-01-15", time: "23:30" });
    expect(localTime(MONDAY_1030, "Pacific/Kiritimati")).toEqual({ weekday: "tuesday", date: "2024-01-16", time: "00:30" });
    expect(isActive(settings({ active_days: days, timezone: "Pacific/Auckland" }), MONDAY_1030)).toBe(false);
    expect(isActive(settings({ active_days: days, timezone: "Pacific/Kiritimati" }), MONDAY_1030)).toBe(true);
    expect(isActive(settings({ active_days: { ...days, monday: true, tuesday: false }, timezone: "Pacific/Kiritimati" }), MONDAY_1030)).toBe(false);
  });

  it("checks hours in the bot's time zone, including ranges across midnight", () => {
    const at = (from: string, to: string, timezone = "UTC") => isActive(settings({ timezone, active_hours: { from, to } }), MONDAY_1030);
    expect(at("always", "always")).toBe(true);
    expect(at("09:00", "17:00")).toBe(true);
    expect(at("10:30", "10:31")).toBe(true);
    expect(at("09:00", "10:30")).toBe(false);
    expect(at("22:00", "06:00")).toBe(false);
    expect(at("22:00", "11:00")).toBe(true);
    expect(at("08:00", "08:00")).toBe(true);
    // 10:30 UTC = 12:30 in Harare (UTC+2).
    expect(at("12:00", "13:00", "Africa/Harare")).toBe(true);
    expect(at("09:00", "12:00", "Africa/Harare")).toBe(false);
    expect(at("22:00", "01:00", "Pacific/Auckland")).toBe(true);
  });
});

describe("decideReply", () => {
  const rules = [
    { match: "exact", pattern: "price", reply: "Our price is 10 USD" },
    { match: "contains", pattern: "Order", reply: "Order desk, [name]", case_sensitive: true },
    { match: "regex", pattern: "^track\\s+#?(\\d+)$", reply: "Tracking..." },
    { match: "contains", pattern: "price", reply: "never: the exact rule wins first" },
  ];

  it("answers the first matching keyword rule", () => {
    const s = settings({ keywords: rules });
    expect(decideReply(s, incoming({ text: "  PRICE " }), MONDAY_1030, first)).toEqual({ text: "Our price is 10 USD" });
    expect(decideReply(s, incoming({ text: "my Order" }), MONDAY_1030, first)).toEqual({ text: "Order desk, Alice" });
    expect(decideReply(s, incoming({ text: "track #42" }), MONDAY_1030, first)).toEqual({ text: "Tracking..." });
    expect(decideReply(s, incoming({ text: "what price?" }), MONDAY_1030, first)).toEqual({ text: "never: the exact rule wins first" });
  });

  it("falls back to the default message with spintax and placeholders", () => {
    const s = settings({ keywords: rules, name: "Shop", timezone: "Africa/Harare", default_message: "{Hi|Hello} [name] ([number]), [bot_name] here at [time] on [date]." });
    expect(decideReply(s, incoming({ text: "my order" }), MONDAY_1030, last)).toEqual({
      text: "Hello Alice (15550001111), Shop here at 12:30 on 2024-01-15.",
    });
    expect(decideReply(s, incoming({ text: null, pushName: null }), MONDAY_1030, first)?.text).toMatch(/^Hi 15550001111 /);
  });

  it("stays silent when disabled, inactive, for own messages, or with nothing to say", () => {
    expect(decideReply(settings({ enabled: false }), incoming(), MONDAY_1030, first)).toBeNull();
    expect(decideReply(settings(), incoming({ fromMe: true }), MONDAY_1030, first)).toBeNull();
    expect(decideReply(settings({ active_hours: { from: "00:00", to: "01:00" } }), incoming(), MONDAY_1030, first)).toBeNull();
    expect(decideReply(settings({ actions: { send_default_msg: false } }), incoming(), MONDAY_1030, first)).toBeNull();
    expect(decideReply(settings({ default_message: "  " }), incoming(), MONDAY_1030, first)).toBeNull();
  });

  it("reply_msgs off disables keyword rules only", () => {
    const s = settings({ keywords: rules, default_message: "default", actions: { reply_msgs: false } });
    expect(decideReply(s, incoming({ text: "price" }), MONDAY_1030, first)).toEqual({ text: "default" });
    const silent = settings({ keywords: rules, actions: { reply_msgs: false, send_default_msg: false } });
    expect(decideReply(silent, incoming({ text: "price" }), MONDAY_1030, first)).toBeNull();
  });

  it("answers groups only with reply_group_msgs, offline messages only with reply_unread_msgs", () => {
    expect(decideReply(settings(), incoming({ isGroup: true }), MONDAY_1030, first)).toBeNull();
    expect(decideReply(settings({ actions: { reply_group_msgs: true } }), incoming({ isGroup: true }), MONDAY_1030, first)).not.toBeNull();
    expect(decideReply(settings(), incoming({ chatUnread: true }), MONDAY_1030, first)).not.toBeNull();
    expect(decideReply(settings({ actions: { reply_unread_msgs: false } }), incoming({ chatUnread: true }), MONDAY_1030, first)).toBeNull();
    expect(decideReply(settings({ actions: { reply_unread_msgs: false } }), incoming({ chatUnread: false }), MONDAY_1030, first)).not.toBeNull();
  });
});
