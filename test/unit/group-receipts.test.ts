import type { MessageUserReceiptUpdate } from "baileys";
import { describe, expect, it } from "vitest";
import { toTimestamp } from "../../src/domain/time";
import { memberReceipts, participantsOf } from "../../src/session/receipts";

// Which `message-receipt.update` entries count as a member's receipt of our group message.

const GROUP = "120363041234567890@g.us";
const me = { id: "14155552671:7@s.whatsapp.net", lid: "98765432101234:7@lid" };
const receipt = (userJid: string, r: Partial<MessageUserReceiptUpdate["receipt"]>, fromMe = true): MessageUserReceiptUpdate => ({
  key: { remoteJid: GROUP, id: "M1", fromMe, participant: userJid },
  receipt: { userJid, ...r },
});

describe("member receipts of group messages", () => {
  it("drops the session's own receipts: its phone's `sender` receipt and its own reads, by number or LID", () => {
    const updates = [
      // Baileys: type="sender" → SERVER_ACK, emitted as readTimestamp, fromMe (our phone got our message).
      receipt("14155552671@s.whatsapp.net", { readTimestamp: 1_700_000_000 }),
      // Our phone read someone else's message: no `recipient`, so Baileys marks it fromMe too.
      receipt("98765432101234@lid", { readTimestamp: 1_700_000_001 }),
    ];
    expect(memberReceipts(updates, me)).toEqual([]);
  });

  it("keeps members' receipts with their own times, earliest first, and skips others' messages", () => {
    const updates = [
      receipt("22997000001@s.whatsapp.net", { readTimestamp: 1_700_000_020 }),
      receipt("22997000002@s.whatsapp.net", { receiptTimestamp: 1_700_000_010 }),
      receipt("22997000003@s.whatsapp.net", { receiptTimestamp: 1_700_000_015 }, false),
      receipt("22997000004@s.whatsapp.net", {}),
    ];
    expect(memberReceipts(updates, me)).toEqual([
      { id: "M1", jid: "22997000002@s.whatsapp.net", kind: "delivered", at: toTimestamp(1_700_000_010_000) },
      { id: "M1", jid: "22997000001@s.whatsapp.net", kind: "read", at: toTimestamp(1_700_000_020_000) },
    ]);
  });

  it("keys each member by number: a LID resolved through Baileys' lid mapping, else the LID itself", async () => {
    const socket = {
      signalRepository: { lidMapping: { getPNsForLIDs: async (lids: string[]) => lids.filter((l) => l.startsWith("111")).map((lid) => ({ lid, pn: "22997000001:0@s.whatsapp.net" })) } },
    } as any;
    const keys = await participantsOf(socket, ["22997000002:3@s.whatsapp.net", "111222333444555:2@lid", "999888777666555@lid"]);
    expect(Object.fromEntries(keys)).toEqual({
      "22997000002:3@s.whatsapp.net": "22997000002",
      "111222333444555:2@lid": "22997000001",
      "999888777666555@lid": "999888777666555@lid",
    });
  });
});
