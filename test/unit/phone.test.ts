import { describe, expect, it } from "vitest";
import { jidToPhone, normalizePhone, phoneToJid } from "../../src/domain/phone";

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
});
