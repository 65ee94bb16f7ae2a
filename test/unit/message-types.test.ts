import { describe, expect, it } from "vitest";
import { SendMessageBody } from "../../src/api/messages.schemas";
import { documentFilename, isReactionEmoji, LIMITS, normalizeContact, typeRuleIssues, type MessageFields } from "../../src/domain/message-types";

const fields = (m: MessageFields) => typeRuleIssues(m).map((i) => i.field);
const base = { whatsapp_session_id: "s", to_number: ["+14155552671"] };
const issuesOf = (body: Record<string, unknown>) => {
  const r = SendMessageBody.safeParse({ ...base, ...body });
  return r.success ? [] : r.error.issues.map((i) => i.path.join("."));
};

describe("typeRuleIssues", () => {
  it("requires content for text and refuses media on it", () => {
    expect(fields({ type: "text" })).toEqual(["content"]);
    expect(fields({ type: "text", content: "hi", media_url: "https://x.test/a.png" })).toEqual(["media_url"]);
    expect(fields({ type: "text", content: "hi", mentions: ["14155552671"], reply_to: "x" })).toEqual([]);
  });

  it("requires media_url for media types; captions only where seed 000 allows them", () => {
    for (const type of ["image", "video", "audio", "document", "sticker"] as const) expect(fields({ type })).toContain("media_url");
    expect(fields({ type: "image", media_url: "u", content: "caption" })).toEqual([]);
    expect(fields({ type: "document", media_url: "u", content: "caption", filename: "a.pdf" })).toEqual([]);
    expect(fields({ type: "audio", media_url: "u", content: "caption" })).toEqual(["content"]);
    expect(fields({ type: "sticker", media_url: "u", content: "caption" })).toEqual(["content"]);
    expect(fields({ type: "image", media_url: "u", content: "x".repeat(LIMITS.caption + 1) })).toEqual(["content"]);
  });

  it("keeps type-specific fields to their type", () => {
    expect(fields({ type: "image", media_url: "u", filename: "a.pdf" })).toEqual(["filename"]);
    expect(fields({ type: "text", content: "hi", ptt: true })).toEqual(["ptt"]);
    expect(fields({ type: "audio", media_url: "u", ptt: true })).toEqual([]);
    expect(fields({ type: "reaction", reaction: { message_id: "m", emoji: "👍" }, reply_to: "x" })).toEqual(["reply_to"]);
  });

  it("requires the object of location, contacts, poll and reaction", () => {
    expect(fields({ type: "location" })).toEqual(["location"]);
    expect(fields({ type: "contacts" })).toEqual(["contacts"]);
    expect(fields({ type: "poll" })).toEqual(["poll"]);
    expect(fields({ type: "reaction" })).toEqual(["reaction"]);
  });

  it("checks poll options and selectable_count", () => {
    expect(fields({ type: "poll", poll: { name: "Lunch?", options: ["Yes", "yes"] } })).toEqual(["poll.options.1"]);
    expect(fields({ type: "poll", poll: { name: "Lunch?", options: ["Yes", "No"], selectable_count: 3 } })).toEqual(["poll.selectable_count"]);
    expect(fields({ type: "poll", poll: { name: "Lunch?", options: ["Yes", "No"], selectable_count: 2 } })).toEqual([]);
  });

  it("wants a name part besides formatted_name on a contact (seed 003)", () => {
    expect(fields({ type: "contacts", contacts: [{ name: { formatted_name: "Ann" } }] })).toEqual(["contacts.0.name"]);
    expect(fields({ type: "contacts", contacts: [{ name: { formatted_name: "Ann", first_name: "Ann" } }] })).toEqual([]);
  });

  it("accepts one emoji, or empty to remove a reaction", () => {
    for (const ok of ["👍", "❤️", "👨‍👩‍👧", "🇧🇯", ""]) expect(isReactionEmoji(ok), ok).toBe(true);
    for (const bad of ["a", "👍👍", "ok", "1"]) expect(isReactionEmoji(bad), bad).toBe(false);
  });
});

describe("SendMessageBody", () => {
  it("names the invalid recipient by index", () => {
    expect(issuesOf({ type: "text", content: "hi", to_number: ["+14155552671", "12"] })).toEqual(["to_number.1"]);
  });

  it("enforces seed limits: text 4096, filename 1..100, location ranges, poll 2..12 options", () => {
    expect(issuesOf({ type: "text", content: "x".repeat(4096) })).toEqual([]);
    expect(issuesOf({ type: "text", content: "x".repeat(4097) })).toEqual(["content"]);
    expect(issuesOf({ type: "document", media_url: "https://x.test/a", filename: "f".repeat(101) })).toEqual(["filename"]);
    expect(issuesOf({ type: "location", location: { latitude: 91, longitude: 0 } })).toEqual(["location.latitude"]);
    expect(issuesOf({ type: "location", location: { latitude: 0, longitude: -181 } })).toEqual(["location.longitude"]);
    expect(issuesOf({ type: "poll", poll: { name: "q", options: ["a"] } })).toEqual(["poll.options"]);
    const thirteen = Array.from({ length: 13 }, (_, i) => `o${i}`);
    expect(issuesOf({ type: "poll", poll: { name: "q", options: thirteen } })).toEqual(["poll.options"]);
  });

  it("takes only http(s) media and callback URLs", () => {
    expect(issuesOf({ type: "image", media_url: "ftp://x.test/a.png" })).toEqual(["media_url"]);
    expect(issuesOf({ type: "text", content: "hi", callback_url: "javascript:alert(1)" })).toEqual(["callback_url"]);
  });

  it("defaults delay_between to 500 ms and selectable_count to 1", () => {
    const r = SendMessageBody.parse({ ...base, type: "poll", poll: { name: "q", options: ["a", "b"] } });
    expect(r.delay_between).toBe(500);
    expect(r.poll?.selectable_count).toBe(1);
  });

  it("validates contact fields of seed 003", () => {
    const contact = { name: { formatted_name: "Ann Lee", first_name: "Ann" }, phones: [{ phone: "+1 415 555 2671", type: "PAGER" }], birthday: "1990-13-01" };
    expect(issuesOf({ type: "contacts", contacts: [contact] }).sort()).toEqual(["contacts.0.birthday", "contacts.0.phones.0.type"]);
  });

  it("sends a reaction to exactly one chat", () => {
    const reaction = { message_id: crypto.randomUUID(), emoji: "👍" };
    expect(issuesOf({ type: "reaction", reaction, to_number: ["+14155552671", "+14155552672"] })).toEqual(["to_number"]);
  });
});

describe("helpers", () => {
  it("names a document after the URL when no filename is given", () => {
    expect(documentFilename("https://x.test/files/Report%202024.pdf?sig=1")).toBe("Report 2024.pdf");
    expect(documentFilename("https://x.test/", undefined)).toBe("document");
    expect(documentFilename("https://x.test/a.pdf", "given.pdf")).toBe("given.pdf");
  });

  it("fills a phone from wa_id and drops empty entries", () => {
    expect(normalizeContact({ name: { formatted_name: "A", first_name: "A" }, phones: [{ wa_id: "14155552671" }, {}], emails: [{ type: "WORK" }] })).toEqual({
      name: { formatted_name: "A", first_name: "A" },
      phones: [{ wa_id: "14155552671", phone: "+14155552671" }],
      emails: [],
    });
  });
});
