// Per-type rules of an outgoing message: which fields each type needs, allows or refuses,
// and the field limits (text and media fields, voice notes, lengths, contact cards, polls,
// reactions, reply context). Pure: the API's zod schemas check shapes and
// lengths with these constants, then `typeRuleIssues` checks the cross-field rules.
import { MESSAGE_TYPES, type MessageType } from "./outbox-item";
import { isMediaType } from "./media-policy";

export { MESSAGE_TYPES, type MessageType };

export const LIMITS = {
  text: 4096, // a text body is at most 4096 characters
  caption: 1024,
  filename: 100, // a document filename is 1..100 characters
  recipients: 1000,
  pollName: 255,
  pollOptions: { min: 2, max: 12 },
  pollOption: 100,
  contacts: 10,
  contactField: 256,
  locationText: 1000,
  mentions: 50,
  delayBetweenMs: 60_000,
  callbackData: 4096,
  url: 2048,
  scheduleAheadDays: 365,
} as const;

export const CONTACT_PHONE_TYPES = ["CELL", "MAIN", "IPHONE", "HOME", "WORK"] as const;
export const HOME_WORK = ["HOME", "WORK"] as const;

export interface ContactName {
  formatted_name: string;
  first_name?: string;
  last_name?: string;
  middle_name?: string;
  suffix?: string;
  prefix?: string;
}
export interface Contact {
  name: ContactName;
  addresses?: { street?: string; city?: string; state?: string; zip?: string; country?: string; country_code?: string; type?: string }[];
  birthday?: string;
  emails?: { email?: string; type?: string }[];
  org?: { company?: string; department?: string; title?: string };
  phones?: { phone?: string; type?: string; wa_id?: string }[];
  urls?: { url?: string; type?: string }[];
}
export interface Location {
  latitude: number;
  longitude: number;
  name?: string;
  address?: string;
}
export interface Poll {
  name: string;
  options: string[];
  selectable_count?: number;
}
export interface Reaction {
  message_id: string;
  emoji: string;
}

/** The type-relevant fields of a send request, after shape validation. */
export interface MessageFields {
  type: MessageType;
  content?: string | null;
  media_url?: string | null;
  filename?: string;
  ptt?: boolean;
  location?: Location;
  contacts?: Contact[];
  poll?: Poll;
  reaction?: Reaction;
  reply_to?: string;
  mentions?: string[];
  mention_all?: boolean;
}

export interface FieldIssue {
  field: string;
  message: string;
}

type Need = "required" | "optional" | "forbidden";
interface TypeRule {
  content: Need;
  media: Need;
  /** Type-specific fields this type accepts (the required one first). */
  extras: (keyof MessageFields)[];
}

const REPLY = ["reply_to"] as const;
const RULES: Record<MessageType, TypeRule> = {
  text: { content: "required", media: "forbidden", extras: [...REPLY, "mentions", "mention_all"] },
  // `content` is the caption of image, video and document.
  image: { content: "optional", media: "required", extras: [...REPLY, "mentions", "mention_all"] },
  video: { content: "optional", media: "required", extras: [...REPLY, "mentions", "mention_all"] },
  document: { content: "optional", media: "required", extras: ["filename", ...REPLY, "mentions", "mention_all"] },
  // No caption on audio; `ptt` makes it a voice note.
  audio: { content: "forbidden", media: "required", extras: ["ptt", ...REPLY] },
  sticker: { content: "forbidden", media: "required", extras: [...REPLY] },
  location: { content: "forbidden", media: "forbidden", extras: ["location", ...REPLY] },
  contacts: { content: "forbidden", media: "forbidden", extras: ["contacts", ...REPLY] },
  poll: { content: "forbidden", media: "forbidden", extras: ["poll", ...REPLY] },
  reaction: { content: "forbidden", media: "forbidden", extras: ["reaction"] },
};

const EXTRA_FIELDS: (keyof MessageFields)[] = ["filename", "ptt", "location", "contacts", "poll", "reaction", "reply_to", "mentions", "mention_all"];
const REQUIRED_EXTRA: Partial<Record<MessageType, keyof MessageFields>> = {
  location: "location",
  contacts: "contacts",
  poll: "poll",
  reaction: "reaction",
};

const present = (v: unknown) => v !== undefined && v !== null;

/** Cross-field rules per type; every issue names the offending field. */
export function typeRuleIssues(m: MessageFields): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const rule = RULES[m.type];
  const hasContent = typeof m.content === "string" && m.content.length > 0;

  if (rule.content === "required" && !hasContent) issues.push({ field: "content", message: `content is required for ${m.type} messages.` });
  if (rule.content === "forbidden" && present(m.content)) issues.push({ field: "content", message: `${m.type} messages take no content (caption).` });
  if (m.type !== "text" && hasContent && m.content!.length > LIMITS.caption) {
    issues.push({ field: "content", message: `A caption may be at most ${LIMITS.caption} characters.` });
  }

  if (rule.media === "required" && !present(m.media_url)) issues.push({ field: "media_url", message: `media_url is required for ${m.type} messages.` });
  if (rule.media === "forbidden" && present(m.media_url)) issues.push({ field: "media_url", message: `${m.type} messages take no media_url.` });

  const required = REQUIRED_EXTRA[m.type];
  if (required && !present(m[required])) issues.push({ field: required, message: `${required} is required for ${m.type} messages.` });
  for (const field of EXTRA_FIELDS) {
    if (present(m[field]) && !rule.extras.includes(field)) {
      issues.push({ field, message: `${field} is not allowed for ${m.type} messages.` });
    }
  }

  if (m.poll && m.type === "poll") issues.push(...pollIssues(m.poll));
  if (m.contacts && m.type === "contacts") issues.push(...contactIssues(m.contacts));
  if (m.reaction && m.type === "reaction" && !isReactionEmoji(m.reaction.emoji)) {
    issues.push({ field: "reaction.emoji", message: "emoji must be a single emoji, or empty to remove a reaction." });
  }
  return issues;
}

function pollIssues(poll: Poll): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  poll.options.forEach((option, i) => {
    const key = option.trim().toLowerCase();
    if (seen.has(key)) issues.push({ field: `poll.options.${i}`, message: "Poll options must be unique." });
    seen.add(key);
  });
  if (poll.selectable_count !== undefined && poll.selectable_count > poll.options.length) {
    issues.push({ field: "poll.selectable_count", message: `selectable_count may be at most the number of options (${poll.options.length}).` });
  }
  return issues;
}

function contactIssues(contacts: Contact[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  contacts.forEach((contact, i) => {
    const { formatted_name: _formatted, ...others } = contact.name;
    // A contact name needs at least one other name field along with formatted_name.
    if (!Object.values(others).some((v) => typeof v === "string" && v.trim().length > 0)) {
      issues.push({ field: `contacts.${i}.name`, message: "Give at least one of first_name, last_name, middle_name, prefix, suffix besides formatted_name." });
    }
  });
  return issues;
}

const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });

/** One emoji (one grapheme cluster with a pictograph or a flag), or "" which removes a reaction. */
export function isReactionEmoji(value: string): boolean {
  if (value === "") return true;
  const graphemes = [...segmenter.segment(value)];
  return graphemes.length === 1 && /\p{Extended_Pictographic}|\p{Regional_Indicator}|[#*0-9]\uFE0F?\u20E3/u.test(value);
}

export function isMediaMessage(type: MessageType): boolean {
  return isMediaType(type);
}

/** The filename WhatsApp shows for a document: the given one, else the URL's last segment. */
export function documentFilename(mediaUrl: string, given?: string): string {
  if (given) return given;
  try {
    const last = decodeURIComponent(new URL(mediaUrl).pathname.split("/").pop() ?? "");
    return last.slice(0, LIMITS.filename) || "document";
  } catch {
    return "document";
  }
}

/**
 * A contact as the session's vCard builder takes it: a phone given only as wa_id gets its
 * "+digits" form, and entries without their value are dropped.
 */
export function normalizeContact(contact: Contact): Contact {
  const phones = (contact.phones ?? [])
    .map((p) => ({ ...p, phone: p.phone ?? (p.wa_id ? `+${p.wa_id}` : undefined) }))
    .filter((p) => p.phone);
  const emails = (contact.emails ?? []).filter((e) => e.email);
  const urls = (contact.urls ?? []).filter((u) => u.url);
  return {
    ...contact,
    ...(contact.phones ? { phones } : {}),
    ...(contact.emails ? { emails } : {}),
    ...(contact.urls ? { urls } : {}),
  };
}
