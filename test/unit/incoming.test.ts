import { describe, expect, it } from "vitest";
import { describeMessage } from "../../src/session/incoming";

const key = { remoteJid: "15550001111@s.whatsapp.net", fromMe: false, id: "ABC" };

describe("describeMessage", () => {
  it("reads texts, plain and extended, with quote and mentions", () => {
    expect(describeMessage({ key, message: { conversation: "hi" } })).toMatchObject({ type: "text", content: "hi" });
    expect(
      describeMessage({
        key,
        message: {
          extendedTextMessage: { text: "hello @1555", contextInfo: { stanzaId: "Q1", mentionedJid: ["15550002222@s.whatsapp.net"] } },
        },
      }),
    ).toEqual({ type: "text", content: "hello @1555", payload: { reply_to_provider_id: "Q1", mentions: ["15550002222"] }, media: null });
  });

  it("reads media metadata and captions, unwrapping ephemeral messages", () => {
    const d = describeMessage({
      key,
      message: {
        ephemeralMessage: {
          message: { documentMessage: { caption: "invoice", fileName: "a.pdf", mimetype: "application/pdf", fileSha256: new Uint8Array([1, 2]), fileLength: 42 } },
        },
      },
    });
    expect(d).toEqual({
      type: "document",
      content: "invoice",
      payload: { filename: "a.pdf" },
      media: { mimetype: "application/pdf", sha256: "0102", size: 42, filename: "a.pdf" },
    });
    expect(describeMessage({ key, message: { audioMessage: { ptt: true, mimetype: "audio/ogg; codecs=opus" } } })).toMatchObject({
      type: "audio",
      payload: { ptt: true },
    });
  });

  it("reads location, contacts, polls and reactions", () => {
    expect(describeMessage({ key, message: { locationMessage: { degreesLatitude: 6.37, degreesLongitude: 2.39, name: "Cotonou" } } })).toMatchObject({
      type: "location",
      payload: { latitude: 6.37, longitude: 2.39, name: "Cotonou" },
    });
    expect(describeMessage({ key, message: { contactMessage: { displayName: "Jane", vcard: "BEGIN:VCARD" } } })).toMatchObject({
      type: "contacts",
      payload: { vcards: ["BEGIN:VCARD"] },
    });
    expect(
      describeMessage({ key, message: { pollCreationMessage: { name: "Lunch?", options: [{ optionName: "Yes" }, { optionName: "No" }], selectableOptionsCount: 1 } } }),
    ).toMatchObject({ type: "poll", payload: { poll: { name: "Lunch?", options: ["Yes", "No"], selectable_count: 1 } } });
    expect(describeMessage({ key, message: { reactionMessage: { text: "👍", key: { id: "T1" } } } })).toMatchObject({
      type: "reaction",
      payload: { reaction: { provider_message_id: "T1", emoji: "👍" } },
    });
  });

  it("ignores protocol messages", () => {
    expect(describeMessage({ key, message: { protocolMessage: { type: 0 } } })).toBeNull();
    expect(describeMessage({ key, message: null })).toBeNull();
  });
});
