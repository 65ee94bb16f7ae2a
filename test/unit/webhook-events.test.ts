import { describe, expect, it } from "vitest";
import {
  DEFAULT_WEBHOOK_EVENTS,
  WEBHOOK_EVENTS,
  chatTypeOf,
  isValidChatId,
  matchesFilters,
  newEventId,
  normalizeChatId,
  resolveEventNames,
  settingsTypesOf,
  subjectOf,
  wantsEvent,
} from "../../src/domain/webhook-events";

describe("event names", () => {
  it("keeps ours and maps the legacy setWebhook names", () => {
    expect(resolveEventNames(["message.read", "message.received"])).toEqual({ events: ["message.received", "message.read"], unknown: [] });
    expect(resolveEventNames(["onMessage"]).events).toEqual(["message.received"]);
    expect(resolveEventNames(["onAnyMessage"]).events).toEqual(["message.received", "message.sent"]);
    expect(resolveEventNames(["onAck"]).events).toEqual(["message.sent", "message.delivered", "message.read", "message.failed"]);
    expect(resolveEventNames(["onStateChanged", "onQR"]).events).toEqual(["session.status", "session.qr"]);
    expect(resolveEventNames(["*"]).events).toEqual([...WEBHOOK_EVENTS]);
  });

  it("leaves the opt-in presence.update out of the default, and puts it in \"*\"", () => {
    expect(DEFAULT_WEBHOOK_EVENTS).not.toContain("presence.update");
    expect(DEFAULT_WEBHOOK_EVENTS).toEqual(WEBHOOK_EVENTS.filter((e) => e !== "presence.update"));
    expect(resolveEventNames(["*"]).events).toContain("presence.update");
    expect(resolveEventNames(["all"]).events).toContain("presence.update");
    expect(resolveEventNames(["presence.update"]).events).toEqual(["presence.update"]);
  });

  it("reports unknown names", () => {
    expect(resolveEventNames(["message.received", "message.exploded", "onBattery"]).unknown).toEqual(["message.exploded", "onBattery"]);
  });

  it("makes Standard Webhooks style ids", () => {
    const a = newEventId();
    expect(a).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(newEventId()).not.toBe(a);
  });
});

describe("chat ids", () => {
  it("normalises JIDs and phone numbers to one form", () => {
    expect(normalizeChatId("+1 (415) 555-2671")).toBe("14155552671@s.whatsapp.net");
    expect(normalizeChatId("14155552671@c.us")).toBe("14155552671@s.whatsapp.net");
    expect(normalizeChatId("14155552671:8@s.whatsapp.net")).toBe("14155552671@s.whatsapp.net");
    expect(normalizeChatId("120363000000000000@g.us")).toBe("120363000000000000@g.us");
  });

  it("tells chat types apart", () => {
    expect(chatTypeOf("120363000000000000@g.us")).toBe("group");
    expect(chatTypeOf("14155552671@s.whatsapp.net")).toBe("contact");
    expect(chatTypeOf("1203@newsletter")).toBe("channel");
    expect(chatTypeOf("status@broadcast")).toBe("broadcast");
  });

  it("validates chat ids", () => {
    expect(isValidChatId("14155552671@s.whatsapp.net")).toBe(true);
    expect(isValidChatId("+14155552671")).toBe(true);
    expect(isValidChatId("hello")).toBe(false);
    expect(isValidChatId("a b@x")).toBe(false);
  });

  it("derives the chat from the direction when the event does not name it", () => {
    expect(subjectOf({ direction: "incoming", from_number: "14155552671", type: "text" })).toEqual({
      chatId: "14155552671@s.whatsapp.net",
      chatType: "contact",
      messageType: "text",
      fromMe: false,
    });
    expect(subjectOf({ from_me: true, to_number: "22997000000", type: "image" }).chatId).toBe("22997000000@s.whatsapp.net");
  });
});

describe("filters (seed 004)", () => {
  const incomingText = { chat_id: "14155552671@s.whatsapp.net", from_me: false, type: "text" };
  const groupImage = { chat_id: "120363000000000000@g.us", from_me: false, type: "image" };
  const ownText = { chat_id: "14155552671@s.whatsapp.net", from_me: true, type: "text" };

  it("passes everything without filters", () => {
    expect(matchesFilters(null, "message.received", incomingText)).toBe(true);
    expect(matchesFilters({}, "message.received", groupImage)).toBe(true);
  });

  it("matches chat ids in any spelling", () => {
    const filters = { chat_ids: ["+1 415 555 2671"] };
    expect(matchesFilters(filters, "message.received", incomingText)).toBe(true);
    expect(matchesFilters(filters, "message.received", groupImage)).toBe(false);
  });

  it("matches chat types, message types and from_me, all of them together", () => {
    expect(matchesFilters({ chat_types: ["group"] }, "message.received", groupImage)).toBe(true);
    expect(matchesFilters({ chat_types: ["group"] }, "message.received", incomingText)).toBe(false);
    expect(matchesFilters({ message_types: ["image", "video"] }, "message.received", groupImage)).toBe(true);
    expect(matchesFilters({ message_types: ["IMAGE"] }, "message.received", incomingText)).toBe(false);
    expect(matchesFilters({ from_me: false }, "message.received", ownText)).toBe(false);
    expect(matchesFilters({ from_me: true }, "message.sent", ownText)).toBe(true);
    expect(matchesFilters({ chat_types: ["contact"], message_types: ["text"], from_me: false }, "message.received", incomingText)).toBe(true);
    expect(matchesFilters({ chat_types: ["contact"], message_types: ["image"] }, "message.received", incomingText)).toBe(false);
  });

  it("lets session events through and rejects messages lacking a filtered field", () => {
    expect(matchesFilters({ chat_types: ["group"] }, "session.status", { status: "connected" })).toBe(true);
    expect(matchesFilters({ message_types: ["text"] }, "message.failed", { chat_id: "1@g.us" })).toBe(false);
  });

  it("checks enabled, session and subscription before filters", () => {
    const hook = { enabled: true, whatsappSessionId: "s1", events: ["message.received"], filters: null };
    const event = { type: "message.received", sessionId: "s1", data: incomingText };
    expect(wantsEvent(hook, event)).toBe(true);
    expect(wantsEvent({ ...hook, enabled: false }, event)).toBe(false);
    expect(wantsEvent(hook, { ...event, sessionId: "s2" })).toBe(false);
    expect(wantsEvent({ ...hook, whatsappSessionId: null }, { ...event, sessionId: "s2" })).toBe(true);
    expect(wantsEvent(hook, { ...event, type: "message.read" })).toBe(false);
  });
});

describe("settings types and mentions (seed 004)", () => {
  const group = { session_id: "s1", group_id: "120363000000000000@g.us", by: "14155552671" };
  const mentioning = { chat_id: "120363000000000000@g.us", from_me: false, type: "text", mentions: ["14155552671", "22997000000"], mentions_me: true };
  const plain = { chat_id: "120363000000000000@g.us", from_me: false, type: "text", mentions_me: false };

  it("puts each event in its categories; system is connected, logged out and joined a group", () => {
    expect(settingsTypesOf("message.received", plain)).toEqual(["messages"]);
    expect(settingsTypesOf("group.participants", group)).toEqual(["groups"]);
    expect(settingsTypesOf("group.joined", group)).toEqual(["groups", "system"]);
    expect(settingsTypesOf("session.status", { status: "connected", reason: null })).toEqual(["system"]);
    expect(settingsTypesOf("session.status", { status: "disconnected", reason: "logged_out" })).toEqual(["system"]);
    expect(settingsTypesOf("session.status", { status: "disconnected", reason: "connection_lost" })).toEqual([]);
    expect(settingsTypesOf("session.qr", { qr: "x" })).toEqual([]);
  });

  it("settings_types filters every event, session and group events included", () => {
    const groups = { settings_types: ["groups" as const] };
    expect(matchesFilters(groups, "group.updated", group)).toBe(true);
    expect(matchesFilters(groups, "message.received", plain)).toBe(false);
    expect(matchesFilters(groups, "session.status", { status: "connected" })).toBe(false);
    const system = { settings_types: ["system" as const] };
    expect(matchesFilters(system, "group.joined", group)).toBe(true);
    expect(matchesFilters(system, "group.left", group)).toBe(false);
    expect(matchesFilters(system, "session.status", { status: "disconnected", reason: "logged_out" })).toBe(true);
    expect(matchesFilters({ settings_types: ["chats" as const] }, "message.received", plain)).toBe(false);
    expect(matchesFilters({ settings_types: ["messages" as const, "groups" as const] }, "message.read", plain)).toBe(true);
  });

  it("mentions match a number in any spelling, or me", () => {
    expect(matchesFilters({ mentions: ["+1 415 555 2671"] }, "message.received", mentioning)).toBe(true);
    expect(matchesFilters({ mentions: ["15550000000"] }, "message.received", mentioning)).toBe(false);
    expect(matchesFilters({ mentions: ["me"] }, "message.received", mentioning)).toBe(true);
    expect(matchesFilters({ mentions: ["me"] }, "message.received", plain)).toBe(false);
    expect(matchesFilters({ mentions: ["15550000000", "me"] }, "message.received", mentioning)).toBe(true);
    // A message filter: group and session events pass it.
    expect(matchesFilters({ mentions: ["me"] }, "group.participants", group)).toBe(true);
  });

  it("wantsEvent applies them after the subscription", () => {
    const hook = { enabled: true, whatsappSessionId: null, events: ["group.joined", "message.received"], filters: { settings_types: ["system" as const] } };
    expect(wantsEvent(hook, { type: "group.joined", sessionId: "s1", data: group })).toBe(true);
    expect(wantsEvent(hook, { type: "message.received", sessionId: "s1", data: plain })).toBe(false);
    expect(wantsEvent({ ...hook, events: ["message.received"] }, { type: "group.joined", sessionId: "s1", data: group })).toBe(false);
  });
});
