import { z } from "zod";
import { renderTemplate, type Random } from "./bot-text";

export { renderTemplate, spin, type Random } from "./bot-text";

// The per-session auto-reply bot of seed 001: settings, when it is active, and what it answers.

export const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

// Regex rules run on every incoming message inside the session object: short patterns, a
// bounded input, and no quantified group that itself holds a quantifier (`(a+)+`), the usual
// shape of catastrophic backtracking.
export const MAX_PATTERN_LENGTH = 200;
const MAX_MATCH_INPUT = 1000;
const MAX_TEMPLATE = 4096;

const HHMM = /^([01]?\d|2[0-3]):([0-5]\d)$/;

/** "5:00" → "05:00"; null when not a time of day. */
export function normalizeTime(value: string): string | null {
  const m = HHMM.exec(value.trim());
  return m ? `${m[1].padStart(2, "0")}:${m[2]}` : null;
}

/** Seed 001 writes offsets as "+1": made "+01:00", which Intl accepts as a time zone. */
export function normalizeTimezone(value: string): string | null {
  const tz = value.trim();
  const offset = /^([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(tz);
  const candidate = offset ? `${offset[1]}${offset[2].padStart(2, "0")}:${offset[3] ?? "00"}` : tz;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: candidate }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** Whether a group holding a repetition (+ * {n,m}) is itself repeated, at any depth. */
export function hasNestedQuantifier(pattern: string): boolean {
  const groups: boolean[] = [];
  let inClass = false;
  let lastGroupRepeats = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    const closedGroup = lastGroupRepeats;
    lastGroupRepeats = false;
    if (ch === "\\") i++;
    else if (inClass) inClass = ch !== "]";
    else if (ch === "[") inClass = true;
    else if (ch === "(") groups.push(false);
    else if (ch === ")") {
      lastGroupRepeats = groups.pop() ?? false;
      if (lastGroupRepeats && groups.length) groups[groups.length - 1] = true;
    } else if (ch === "*" || ch === "+" || ch === "{") {
      if (closedGroup) return true;
      if (groups.length) groups[groups.length - 1] = true;
    }
  }
  return false;
}

/** The compiled form of a regex rule, or the reason it cannot be used. */
export function compileRule(pattern: string, caseSensitive: boolean): RegExp | string {
  if (pattern.length > MAX_PATTERN_LENGTH) return `At most ${MAX_PATTERN_LENGTH} characters.`;
  if (hasNestedQuantifier(pattern)) return "Nested quantifiers such as (a+)+ are not allowed.";
  try {
    return new RegExp(pattern, caseSensitive ? "u" : "iu");
  } catch (err) {
    return `Not a valid regular expression: ${(err as Error).message}`;
  }
}

const Time = z.string().transform((v, ctx) => {
  const t = v.trim() === "always" ? "always" : normalizeTime(v);
  if (!t) ctx.addIssue({ code: "custom", message: 'A time of day "HH:MM" (24 h), or "always".' });
  return t ?? v;
});

const Template = z.string().max(MAX_TEMPLATE);

export const KeywordRuleSchema = z
  .strictObject({
    match: z.enum(["exact", "contains", "regex"]).meta({ description: "exact: the whole message (trimmed); contains: anywhere in it; regex: JavaScript syntax (u flag)." }),
    pattern: z.string().min(1).max(MAX_PATTERN_LENGTH),
    reply: Template.min(1).meta({ description: "Spintax and placeholders as in default_message." }),
    case_sensitive: z.boolean().default(false),
  })
  .superRefine((rule, ctx) => {
    if (rule.match !== "regex") return;
    const compiled = compileRule(rule.pattern, rule.case_sensitive);
    if (typeof compiled === "string") ctx.addIssue({ code: "custom", path: ["pattern"], message: compiled });
  });

const ActionsSchema = z.strictObject({
  send_default_msg: z.boolean().default(true).meta({ description: "Answer with default_message when no keyword rule matches." }),
  reply_group_msgs: z.boolean().default(false).meta({ description: "Also answer messages in groups (in the group)." }),
  reply_unread_msgs: z.boolean().default(true).meta({ description: "Also answer messages that arrived while the session was offline." }),
  reply_msgs: z.boolean().default(true).meta({ description: "Answer with keyword rules." }),
  send_webhook: z.boolean().default(true).meta({ description: "Bot replies raise message.* webhook events like any send." }),
});

const day = () => z.boolean().default(true);
const DaysSchema = z.strictObject({
  monday: day(),
  tuesday: day(),
  wednesday: day(),
  thursday: day(),
  friday: day(),
  saturday: day(),
  sunday: day(),
});

const HoursSchema = z
  .strictObject({ from: Time.default("always"), to: Time.default("always") })
  .superRefine((h, ctx) => {
    if ((h.from === "always") !== (h.to === "always")) ctx.addIssue({ code: "custom", path: ["to"], message: 'from and to are both "always" or both times of day.' });
  });

export const BotSettingsSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100).default("Bot"),
    timezone: z
      .string()
      .default("UTC")
      .transform((v, ctx) => {
        const tz = normalizeTimezone(v);
        if (!tz) ctx.addIssue({ code: "custom", message: 'An IANA time zone ("Africa/Harare") or an offset ("+01:00").' });
        return tz ?? v;
      })
      .meta({ description: "IANA name or UTC offset; active hours, [date] and [time] use it.", example: "Africa/Harare" }),
    language: z.string().trim().min(2).max(35).default("en"),
    enabled: z.boolean().default(false),
    default_message: Template.default("{Hi|Hello} [name], your message has no keyword here."),
    actions: ActionsSchema.default(ActionsSchema.parse({})),
    active_days: DaysSchema.default(DaysSchema.parse({})),
    active_hours: HoursSchema.default({ from: "always", to: "always" }),
    keywords: z.array(KeywordRuleSchema).max(100).default([]).meta({ description: "Checked in order; the first match answers." }),
  })
  .meta({ id: "BotSettings" });

export type BotSettings = z.output<typeof BotSettingsSchema>;
export type KeywordRule = BotSettings["keywords"][number];

export const DEFAULT_BOT_SETTINGS: BotSettings = BotSettingsSchema.parse({});

interface LocalTime {
  weekday: Weekday;
  date: string;
  time: string;
}

/** Weekday, YYYY-MM-DD and HH:MM of `at` in `timeZone`. */
export function localTime(at: Date, timeZone: string): LocalTime {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    weekday: "long",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(at);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "";
  return {
    weekday: get("weekday").toLowerCase() as Weekday,
    date: `${get("year")}-${get("month")}-${get("day")}`,
    time: `${get("hour")}:${get("minute")}`,
  };
}

/**
 * Active on the day's flag (the local day of `at`) and within the hours: from ≤ now < to,
 * wrapping past midnight when from > to; from = to means the whole day.
 */
export function isActive(settings: Pick<BotSettings, "timezone" | "active_days" | "active_hours">, at: Date): boolean {
  const local = localTime(at, settings.timezone);
  if (!settings.active_days[local.weekday]) return false;
  const { from, to } = settings.active_hours;
  if (from === "always" || to === "always" || from === to) return true;
  return from < to ? local.time >= from && local.time < to : local.time >= from || local.time < to;
}

export interface IncomingForBot {
  text: string | null;
  isGroup: boolean;
  fromMe: boolean;
  /** Arrived while the session was offline (Baileys upsert `append`). */
  chatUnread?: boolean;
  pushName: string | null;
  /** The sender's number (in a group: the participant). */
  from: string;
}

function matches(rule: KeywordRule, text: string): boolean {
  const fold = (s: string) => (rule.case_sensitive ? s : s.toLocaleLowerCase());
  switch (rule.match) {
    case "exact":
      return fold(text.trim()) === fold(rule.pattern.trim());
    case "contains":
      return fold(text).includes(fold(rule.pattern));
    case "regex": {
      const re = compileRule(rule.pattern, rule.case_sensitive);
      return typeof re !== "string" && re.test(text.slice(0, MAX_MATCH_INPUT));
    }
  }
}

export type SkipReason = "disabled" | "from_me" | "group" | "offline" | "inactive" | "no_reply";

/** What the bot answers to one incoming message, or why it stays silent. */
export function decide(settings: BotSettings, incoming: IncomingForBot, at: Date, random: Random): { text: string } | { skipped: SkipReason } {
  if (!settings.enabled) return { skipped: "disabled" };
  if (incoming.fromMe) return { skipped: "from_me" };
  if (incoming.isGroup && !settings.actions.reply_group_msgs) return { skipped: "group" };
  if (incoming.chatUnread && !settings.actions.reply_unread_msgs) return { skipped: "offline" };
  if (!isActive(settings, at)) return { skipped: "inactive" };

  const text = incoming.text ?? "";
  const rule = settings.actions.reply_msgs ? settings.keywords.find((r) => matches(r, text)) : undefined;
  const template = rule ? rule.reply : settings.actions.send_default_msg ? settings.default_message : null;
  if (!template) return { skipped: "no_reply" };
  const local = localTime(at, settings.timezone);
  const vars = {
    name: incoming.pushName?.trim() || incoming.from,
    number: incoming.from,
    bot_name: settings.name,
    date: local.date,
    time: local.time,
  };
  const reply = renderTemplate(template, vars, random).trim();
  return reply ? { text: reply } : { skipped: "no_reply" };
}

/** What the bot answers to one incoming message, or null. */
export function decideReply(settings: BotSettings, incoming: IncomingForBot, at: Date, random: Random): { text: string } | null {
  const decision = decide(settings, incoming, at, random);
  return "text" in decision ? decision : null;
}
