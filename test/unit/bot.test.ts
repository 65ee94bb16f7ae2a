import { describe, expect, it } from "vitest";
import {
  BotSettingsSchema,
  DEFAULT_BOT_SETTINGS,
  compileRule,
  decideReply,
  hasNestedQuantifier,
  isActive,
  localTime,
  normalizeTimezone,
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

  it("stays linear on hostile input", () => {
    const hostile = "{".repeat(20_000) + "|".repeat(20_000);
    const started = Date.now();
    expect(spin(hostile, first).length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe("placeholders", () => {
  it("fills known placeholders once: values are never read as templates", () => {
    const vars = { name: "{Evil|Eve} [number]", number: "1555" };
    expect(renderTemplate("{Hi|Hello} [name] ([number]) [unknown]", vars, first)).toBe("Hi {Evil|Eve} [number] (1555) [unknown]");
    expect(renderTemplate("{[name]|x}", { name: "Bob" }, first)).toBe("Bob");
    expect(renderTemplate("\\[name\\]", { name: "Bob" }, first)).toBe("[name]");
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
  it("rejects invalid, long and nested-quantifier patterns", () => {
    expect(compileRule("[a-", false)).toMatch(/Not a valid regular expression/);
    expect(compileRule("a".repeat(201), false)).toMatch(/At most 200/);
    for (const p of ["(a+)+$", "(a*)*", "((ab)+)+", "(?:x+y){2,}", "((a+))*"]) expect(hasNestedQuantifier(p), p).toBe(true);
    for (const p of ["(a|b)+", "\\(a+\\)+", "[(a+)]+", "(a+)?", "^price\\s*\\d+$"]) expect(hasNestedQuantifier(p), p).toBe(false);
    expect(compileRule("^order\\s+#?\\d+$", false)).toBeInstanceOf(RegExp);
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
