import { describe, expect, it } from "vitest";
import { ackErrorReason } from "../../src/domain/ack-errors";
import { errorCodesInUpdates } from "../../src/session/receipts";

describe("ack errors", () => {
  it("names 463 and keeps other codes", () => {
    expect(ackErrorReason("463")).toBe("no_trusted_contact_token");
    expect(ackErrorReason(463)).toBe("no_trusted_contact_token");
    expect(ackErrorReason("479")).toBe("whatsapp_error_479");
    expect(ackErrorReason("not-a-code")).toBe("rejected_by_whatsapp");
  });

  it("reads the code Baileys puts on an ERROR update (handleBadAck), only for our own messages", () => {
    const codes = errorCodesInUpdates([
      { key: { id: "A", fromMe: true, remoteJid: "1@s.whatsapp.net" }, update: { status: 0, messageStubParameters: ["463"] } },
      { key: { id: "B", fromMe: false, remoteJid: "1@s.whatsapp.net" }, update: { status: 0, messageStubParameters: ["479"] } },
      { key: { id: "C", fromMe: true, remoteJid: "1@s.whatsapp.net" }, update: { status: 3 } },
    ]);
    expect([...codes]).toEqual([["A", "463"]]);
  });
});
