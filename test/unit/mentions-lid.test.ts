import type { WAMessage } from "baileys";
import { describe, expect, it } from "vitest";
import type { LidLookup } from "../../src/session/jid-numbers";
import { mentionsOf } from "../../src/session/receive";

// In LID-addressed groups a message's mentionedJid are LIDs: the webhooks' `mentions` filter
// needs them as phone numbers, mapped through Baileys' LID store (here a lookup of two mappings).

const mapped: Record<string, string> = { "111@lid": "14155552671@s.whatsapp.net", "222@lid": "14155552672@s.whatsapp.net" };
const lookup: LidLookup = async (lid) => mapped[lid] ?? null;

function mentioning(...jids: string[]): WAMessage {
  return {
    key: { remoteJid: "120363000000000001@g.us", id: "M1", participant: "333@lid" },
    message: { extendedTextMessage: { text: "hi", contextInfo: { mentionedJid: jids } } },
  } as WAMessage;
}

describe("mentions of a message", () => {
  it("maps LIDs to numbers through the LID store; an unknown LID stays apart in mentions_lid", async () => {
    const found = await mentionsOf(mentioning("111:4@lid", "14155552673@s.whatsapp.net", "999@lid"), null, { ownLid: null, lookup });
    expect(found).toEqual({ mentions: ["14155552671", "14155552673"], mentions_lid: ["999@lid"], mentions_me: false });
  });

  it("knows the session mentioned by its LID (device part or not), or by the number its LID maps to", async () => {
    expect((await mentionsOf(mentioning("999:2@lid"), "14155550000", { ownLid: "999:7@lid", lookup })).mentions_me).toBe(true);
    expect((await mentionsOf(mentioning("222@lid"), "14155552672", { ownLid: null, lookup })).mentions_me).toBe(true);
    expect((await mentionsOf(mentioning("111@lid"), "14155552672", { ownLid: "222@lid", lookup })).mentions_me).toBe(false);
    expect(await mentionsOf(mentioning(), "14155552672", { ownLid: null, lookup })).toEqual({ mentions_me: false });
  });
});
