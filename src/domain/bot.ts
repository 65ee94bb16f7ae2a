import { z } from "zod";
import { MAX_PATTERN_LENGTH, MAX_REGEX_RULES, compileRegexRules, regexRuleProblem, type RegexMatcher } from "./bot-regex";
import { renderTemplate, type Random } from "./bot-text";

export { renderTemplate, spin, type Random } from "./bot-text";
export { MAX_PATTERN_LENGTH, MAX_REGEX_RULES, regexRuleProblem } from "./bot-regex";

// The per-session auto-reply bot: settings, when it is active, and what it answers.

export const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const MAX_TEMPLATE = 4096;

const HHMM = /^([01]?\d|2[0-3]):([0-5]\d)$/;

/** "5:00" → "05:00"; null when not a time of day. */
export function normalizeTime(value: string): string | null {
  const m = HHMM.exec(value.trim());
  return m ? `${m[1].padStart(2, "0")}:${m[2]}` : null;
}

/** Clients write offsets as "+1" too: made "+01:00", which Intl accepts as a time zone. */
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

const Time = z.string().transform((v, ctx) => {
  const t = v.trim() === "always" ? "always" : normalizeTime(v);
  if (!t) ctx.addIssue({ code: "custom", message: 'A time of day "HH:MM" (24 h), or "always".' });
  return t ?? v;
});

const Template = z.string().max(MAX_TEMPLATE);

export const KeywordRuleSchema = z
  .strictObject({
    match: z.enum(["exact", "contains", "regex"]).meta({ description: "exact: the whole message (trimmed); contains: anywhere in it; regex: RE2 syntax (linear time; no backreferences or lookaround), matched anywhere unless anchored." }),
    pattern: z.string().min(1).max(MAX_PATTERN_LENGTH),
    reply: Template.min(1).meta({ description: "Spintax and placeholders as in default_message." }),
    case_sensitive: z.boolean().default(false),
  })
  .superRefine((rule, ctx) => {
    if (rule.match !== "regex") return;
    const problem = regexRuleProblem(rule.pattern, rule.case_sensitive);
    if (problem) ctx.addIssue({ code: "custom", path: ["pattern"], message: problem });
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

// Two auto-replying numbers would answer each other forever; these stop it (and spare a contact
// a flood). Counted per chat whoever writes: no message is reliably "human".
const ChatLimitsSchema = z.strictObject({
  max_replies: z.int().min(1).max(1000).default(20).meta({ description: "At most this many bot replies in one chat within window_minutes; further messages there are not answered (reason reply_limit)." }),
  window_minutes: z.int().min(1).max(1440).default(60),
  min_interval_seconds: z
    .int()
    .min(0)
    .max(3600)
    // 1 s: a person's "hi" then "price?" both get answers; max_replies is what stops a bot loop.
    .default(1)
    .meta({ description: "No bot reply in a chat sooner than this after its previous one there; messages in between are not answered (reason cooldown)." }),
});

export type ChatLimits = z.output<typeof ChatLimitsSchema>;
/** The longest history chatLimitReason ever needs. */
export const MAX_CHAT_HISTORY_MS = 1440 * 60_000;

/** The bot's replies in one chat: how many within the window, and when the last one was (ms). */
export interface ChatHistory {
  inWindow: number;
  lastAt: number | null;
}

/** The window chatLimitReason counts `inWindow` over: replies after this instant (ms). */
export function chatWindowStart(limits: ChatLimits, nowMs: number): number {
  return nowMs - limits.window_minutes * 60_000;
}

/** Why the bot may not answer in a chat now, given its history there; null = it may. */
export function chatLimitReason(limits: ChatLimits, history: ChatHistory, nowMs: number): "reply_limit" | "cooldown" | null {
  if (history.inWindow >= limits.max_replies) return "reply_limit";
  if (history.lastAt !== null && nowMs - history.lastAt < limits.min_interval_seconds * 1000) return "cooldown";
  return null;
}

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
    keywords: z
      .array(KeywordRuleSchema)
      .max(100)
      .default([])
      .superRefine((rules, ctx) => {
        const regex = rules.filter((r) => r.match === "regex").length;
        if (regex > MAX_REGEX_RULES) ctx.addIssue({ code: "custom", message: `At most ${MAX_REGEX_RULES} regex rules (${regex} given); use exact or contains rules for plain words.` });
      })
      .meta({ description: `Checked in order; the first match answers. At most ${MAX_REGEX_RULES} of them regex rules.` }),
    chat_limits: ChatLimitsSchema.default(ChatLimitsSchema.parse({})).meta({ description: "Loop guard: caps bot replies per chat, e.g. against another bot." }),
  })
  .meta({
    id: "BotSettings",
    // Seed 001's bot settings (general info, actions, active days and hours) in this API's names.
    example: {
      name: "Support bot",
      timezone: "Africa/Harare",
      language: "en",
      enabled: true,
      default_message: "{Hi|Hello} [name], your message has no keyword here.",
      actions: { send_default_msg: true, reply_group_msgs: false, reply_unread_msgs: true, reply_msgs: true, send_webhook: true },
      active_days: { monday: true, tuesday: true, wednesday: true, thursday: true, friday: true, saturday: false, sunday: false },
      active_hours: { from: "08:00", to: "18:00" },
      keywords: [
        { match: "exact", pattern: "price", reply: "Our prices: https://example.com/prices" },
        { match: "contains", pattern: "hours", reply: "{We are|We're} open 08:00-18:00, Monday to Friday ([time] now)." },
      ],
      chat_limits: { max_replies: 20, window_minutes: 60, min_interval_seconds: 1 },
    },
  });

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

// A bot's regex rules compiled once per settings object (the session object keeps its settings),
// and dropped with it.
const regexMatchers = new WeakMap<readonly KeywordRule[], RegexMatcher>();

function regexMatcher(keywords: readonly KeywordRule[]): RegexMatcher {
  let matcher = regexMatchers.get(keywords);
  if (!matcher) {
    const positions = keywords.flatMap((r, i) => (r.match === "regex" ? [i] : []));
    const inSet = compileRegexRules(positions.map((i) => keywords[i]));
    matcher = (text) => new Set([...inSet(text)].map((i) => positions[i]));
    regexMatchers.set(keywords, matcher);
  }
  return matcher;
}

/** The first rule, in order, that matches `text`. */
function firstMatch(keywords: readonly KeywordRule[], text: string): KeywordRule | undefined {
  let regexHits: ReadonlySet<number> | undefined;
  return keywords.find((rule, index) => {
    const fold = (s: string) => (rule.case_sensitive ? s : s.toLocaleLowerCase());
    switch (rule.match) {
      case "exact":
        return fold(text.trim()) === fold(rule.pattern.trim());
      case "contains":
        return fold(text).includes(fold(rule.pattern));
      case "regex":
        // One pass of the set answers every regex rule.
        regexHits ??= regexMatcher(keywords)(text);
        return regexHits.has(index);
    }
  });
}

export type SkipReason = "disabled" | "from_me" | "group" | "offline" | "inactive" | "no_reply" | "reply_limit" | "cooldown";

/** What the bot answers to one incoming message, or why it stays silent. */
export function decide(settings: BotSettings, incoming: IncomingForBot, at: Date, random: Random): { text: string } | { skipped: SkipReason } {
  if (!settings.enabled) return { skipped: "disabled" };
  if (incoming.fromMe) return { skipped: "from_me" };
  if (incoming.isGroup && !settings.actions.reply_group_msgs) return { skipped: "group" };
  if (incoming.chatUnread && !settings.actions.reply_unread_msgs) return { skipped: "offline" };
  if (!isActive(settings, at)) return { skipped: "inactive" };

  const text = incoming.text ?? "";
  const rule = settings.actions.reply_msgs ? firstMatch(settings.keywords, text) : undefined;
  const template = rule ? rule.reply : settings.actions.send_default_msg ? settings.default_message : null;
  if (!template) return { skipped: "no_reply" };
  const local = localTime(at, settings.timezone);
  const vars = new Map([
    ["name", incoming.pushName?.trim() || incoming.from],
    ["number", incoming.from],
    ["bot_name", settings.name],
    ["date", local.date],
    ["time", local.time],
  ]);
  const reply = renderTemplate(template, vars, random).trim();
  return reply ? { text: reply } : { skipped: "no_reply" };
}

/** What the bot answers to one incoming message, or null. */
export function decideReply(settings: BotSettings, incoming: IncomingForBot, at: Date, random: Random): { text: string } | null {
  const decision = decide(settings, incoming, at, random);
  return "text" in decision ? decision : null;
}
