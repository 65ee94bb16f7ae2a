import { describe, expect, it } from "vitest";
import { addressOf, type LidLookup } from "../../src/session/jid-numbers";

// Who a received message is from and in which chat (session/jid-numbers.ts addressOf, as
// receive.ts stores it): numbers from the `*_pn` attributes or the LID store, LIDs beside them,
// and never LID digits as a number when WhatsApp did not reveal the number.

const store: Record<string, string> = { "111@lid": "14155552671@s.whatsapp.net" };
const lookup: LidLookup = async (lid) => store[lid] ?? null;

describe("a received message's address", () => {
  it("takes a LID-addressed contact's number from the stanza, its LID beside it", async () => {
    const got = await addressOf(lookup, { remoteJid: "222@lid", remoteJidAlt: "14155552672@s.whatsapp.net" });
    expect(got).toEqual({ isGroup: false, chatId: "14155552672@s.whatsapp.net", fromNumber: "14155552672", fromLid: "222@lid", chatLid: "222@lid" });
  });

  it("maps a LID without a number on the stanza through the LID store", async () => {
    const got = await addressOf(lookup, { remoteJid: "111:3@lid" });
    expect(got).toEqual({ isGroup: false, chatId: "14155552671@s.whatsapp.net", fromNumber: "14155552671", fromLid: "111@lid", chatLid: "111@lid" });
  });

  it("leaves the number null for a LID nobody revealed, keeping the chat on its LID", async () => {
    const got = await addressOf(lookup, { remoteJid: "999@lid" });
    expect(got).toEqual({ isGroup: false, chatId: "999@lid", fromNumber: null, fromLid: "999@lid", chatLid: "999@lid" });
    const inGroup = await addressOf(lookup, { remoteJid: "120363000000000001@g.us", participant: "999@lid" });
    expect(inGroup).toEqual({ isGroup: true, chatId: "120363000000000001@g.us", fromNumber: null, fromLid: "999@lid", chatLid: null });
  });

  it("keeps number-addressed chats as they were (the LID beside the number when told)", async () => {
    expect(await addressOf(lookup, { remoteJid: "14155550001@s.whatsapp.net" })).toEqual({
      isGroup: false, chatId: "14155550001@s.whatsapp.net", fromNumber: "14155550001", fromLid: null, chatLid: null,
    });
    expect(await addressOf(lookup, { remoteJid: "14155550001@s.whatsapp.net", remoteJidAlt: "333@lid" })).toMatchObject({ chatId: "14155550001@s.whatsapp.net", fromNumber: "14155550001", fromLid: "333@lid" });
    const group = await addressOf(lookup, { remoteJid: "120363000000000001@g.us", participant: "14155550002@s.whatsapp.net", participantAlt: "444@lid" });
    expect(group).toEqual({ isGroup: true, chatId: "120363000000000001@g.us", fromNumber: "14155550002", fromLid: "444@lid", chatLid: null });
  });

  it("keeps a chat on another server (a bot) on its own jid", async () => {
    const got = await addressOf(lookup, { remoteJid: "867051314767696@bot" });
    expect(got.chatId).toBe("867051314767696@bot");
  });
});
