import { describe, expect, it } from "vitest";
import { resendAllowed } from "../../src/session/sent-store";

// getMessage serves a stored message only to the chat it was sent to (baileys-host.ts resendable):
// a retry receipt naming our id from another chat gets nothing.

describe("resendAllowed", () => {
  const chat = "15550001111@s.whatsapp.net";

  it("allows the same user, on any of its devices", () => {
    expect(resendAllowed(chat, chat)).toBe(true);
    expect(resendAllowed(chat, "15550001111:3@s.whatsapp.net")).toBe(true);
  });

  it("refuses another user, an unmapped LID, and a missing chat", () => {
    expect(resendAllowed(chat, "15550002222@s.whatsapp.net")).toBe(false);
    expect(resendAllowed(chat, "123456789012345@lid")).toBe(false);
    expect(resendAllowed(chat, undefined)).toBe(false);
  });

  it("for a group, only that group", () => {
    const group = "120363000000000001@g.us";
    expect(resendAllowed(group, group)).toBe(true);
    expect(resendAllowed(group, "120363000000000002@g.us")).toBe(false);
    expect(resendAllowed(group, "15550001111@s.whatsapp.net")).toBe(false);
  });
});
