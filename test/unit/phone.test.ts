import { describe, expect, it } from "vitest";
import { chatJid, isGroupId, isOwnJid, isPhoneRecipient, jidToPhone, jidUser, normalizePhone, normalizeRecipient, phoneToJid } from "../../src/domain/phone";

describe("phone numbers", () => {
  it("normalises international formats to digits", () => {
    expect(normalizePhone("+229 01 97 00 00 00")).toBe("2290197000000");
    expect(normalizePhone("+1 (415) 555-2671")).toBe("14155552671");
    expect(normalizePhone("0044 20 7946 0958")).toBe("442079460958");
    expect(normalizePhone("14155552671")).toBe("14155552671");
  });

  it("rejects what is not a phone number", () => {
    expect(normalizePhone("hello")).toBeNull();
    expect(normalizePhone("+1 23")).toBeNull();
    expect(normalizePhone("+999 1234567")).toBeNull();
    expect(normalizePhone("+44 12")).toBeNull();
  });

  it("converts between numbers and JIDs", () => {
    expect(phoneToJid("14155552671")).toBe("14155552671@s.whatsapp.net");
    expect(jidToPhone("14155552671:12@s.whatsapp.net")).toBe("14155552671");
    expect(jidToPhone("123@lid")).toBeNull();
  });

  it("recognises group ids: digits, an optional -digits, then @g.us", () => {
    expect(isGroupId("120363041234567890@g.us")).toBe(true);
    expect(isGroupId("15551234567-1600000000@g.us")).toBe(true);
    for (const bad of ["team@g.us", "120363-@g.us", "120363@s.whatsapp.net", "120363", "@g.us", " 120363@g.us", "1".repeat(31) + "@g.us", "12__proto__@g.us"]) {
      expect(isGroupId(bad), bad).toBe(false);
    }
  });

  it("normalises a recipient: a group id kept as is, else a phone number's digits", () => {
    expect(normalizeRecipient(" 120363041234567890@g.us ")).toBe("120363041234567890@g.us");
    expect(normalizeRecipient("+1 (415) 555-2671")).toBe("14155552671");
    expect(normalizeRecipient("team@g.us")).toBeNull();
    expect(normalizeRecipient("14155552671@s.whatsapp.net")).toBeNull();
    expect(chatJid("120363041234567890@g.us")).toBe("120363041234567890@g.us");
    expect(chatJid("14155552671")).toBe("14155552671@s.whatsapp.net");
  });

  it("takes a JID's user without device or agent, and tells the session's own account by number or LID", () => {
    expect(jidUser("14155552671:12@s.whatsapp.net")).toBe("14155552671");
    expect(jidUser("123456789012345:3@lid")).toBe("123456789012345");
    expect(jidUser("14155552671_1:2@s.whatsapp.net")).toBe("14155552671");
    expect(jidUser("nobody")).toBeNull();
    const me = { id: "14155552671:7@s.whatsapp.net", lid: "98765432101234:7@lid" };
    expect(isOwnJid("14155552671@s.whatsapp.net", me)).toBe(true);
    expect(isOwnJid("14155552671:0@s.whatsapp.net", me)).toBe(true);
    expect(isOwnJid("98765432101234@lid", me)).toBe(true);
    // Same digits on the other server are someone else.
    expect(isOwnJid("14155552671@lid", me)).toBe(false);
    expect(isOwnJid("14155550000@s.whatsapp.net", me)).toBe(false);
    expect(isOwnJid("14155552671@s.whatsapp.net", undefined)).toBe(false);
  });
  it("tells a stored phone recipient from a group's or a LID's JID", () => {
    expect(isPhoneRecipient("22997000000")).toBe(true);
    expect(isPhoneRecipient("120363041234567890@g.us")).toBe(false);
    expect(isPhoneRecipient("123456789012345@lid")).toBe(false);
    expect(isPhoneRecipient("")).toBe(false);
  });

  it("gives the same answer for a number asked twice (the memo keeps what parsing said)", () => {
    expect(normalizePhone("+1 202 555 0143")).toBe(normalizePhone("+1 202 555 0143"));
    expect(normalizePhone("+12025550143")).toBe("12025550143");
    expect(normalizePhone("+1 202")).toBeNull();
    expect(normalizePhone("+1 202")).toBeNull();
  });
});
