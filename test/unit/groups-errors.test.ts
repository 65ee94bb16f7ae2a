import { assertNodeErrorFree, type BinaryNode } from "baileys";
import { describe, expect, it } from "vitest";
import { failureError } from "../../src/api/groups.actions";
import { failureOf, inviteFailure, partlyApplied, upstreamFailure, whatsappCode } from "../../src/session/groups.errors";
import { statusFor } from "../../src/session/groups.members";
import { matchOutcomes, participantOutcome, targetsAmong } from "../../src/session/groups.targets";

// How WhatsApp's answers, as Baileys raises them, become the API's group errors and results.

/** The error Baileys' `query` throws for an iq answered with `<error code text>`. */
function iqError(code: string, text: string): unknown {
  const answer: BinaryNode = { tag: "iq", attrs: { type: "error" }, content: [{ tag: "error", attrs: { code, text } }] };
  try {
    assertNodeErrorFree(answer);
  } catch (err) {
    return err;
  }
  throw new Error("Baileys did not raise the iq error");
}

describe("group errors", () => {
  it("reads WhatsApp's code from Baileys' iq error and from a metadata error's node", () => {
    expect(whatsappCode(iqError("403", "forbidden"))).toBe(403);
    expect(whatsappCode({ data: { tag: "error", attrs: { code: "404", text: "item-not-found" } } })).toBe(404);
    expect(whatsappCode(new Error("Connection Closed"))).toBeNull();
  });

  it("answers any other WhatsApp error as 502 whatsapp_error with its code in details", () => {
    const error = failureError(upstreamFailure(iqError("500", "internal-server-error")));
    expect(error.status).toBe(502);
    expect(error.code).toBe("whatsapp_error");
    expect(error.details).toEqual({ whatsapp_code: 500, whatsapp_text: "internal-server-error" });
    const lost = failureError(upstreamFailure(new Error("Timed Out")));
    expect(lost.details).toEqual({ whatsapp_code: null, whatsapp_text: "Timed Out" });
  });

  it("answers WhatsApp's rate limit (429) as 429 rate_limited and a full group (419) as 409 group_full", () => {
    expect(failureError(failureOf(iqError("429", "rate-overlimit")))).toMatchObject({ status: 429, code: "rate_limited", details: { whatsapp_code: 429 } });
    expect(failureError(failureOf(iqError("419", "resource-limit")))).toMatchObject({ status: 409, code: "group_full", details: { whatsapp_code: 419 } });
    expect(failureOf(iqError("500", "internal-server-error"))).toMatchObject({ status: 502, code: "whatsapp_error" });
  });

  it("lists the fields a PATCH already changed when a later one fails", () => {
    const error = failureError(partlyApplied(iqError("406", "not-acceptable"), ["name", "description"]).failure);
    expect(error.status).toBe(502);
    expect(error.details).toEqual({ whatsapp_code: 406, whatsapp_text: "not-acceptable", applied: ["name", "description"] });
  });

  it("maps invite-code refusals (whatsmeow: 406 invalid, 410 revoked) and leaves others to the caller", () => {
    expect(inviteFailure(iqError("406", "not-acceptable"))).toMatchObject({ status: 404, code: "invite_link_invalid" });
    expect(inviteFailure(iqError("410", "gone"))).toMatchObject({ status: 410, code: "invite_link_revoked" });
    expect(inviteFailure(iqError("409", "conflict"))).toMatchObject({ status: 409, code: "already_group_member" });
    expect(inviteFailure(iqError("500", "internal-server-error"))).toBeNull();
  });
});

describe("participant outcomes", () => {
  const p = (jid: string, error?: string, addRequest?: { code: string; expiration: string }): BinaryNode => ({
    tag: "participant",
    attrs: { jid, ...(error ? { error } : {}) },
    content: addRequest ? [{ tag: "add_request", attrs: addRequest }] : undefined,
  });

  it("reads the error and the add request of a refused add", () => {
    expect(participantOutcome(p("15550001@s.whatsapp.net"))).toEqual({ jid: "15550001@s.whatsapp.net", phone: "15550001", lid: null, error: null, addRequest: null });
    expect(participantOutcome(p("15550002@s.whatsapp.net", "403", { code: "AbC", expiration: "1700000000" }))).toEqual({
      jid: "15550002@s.whatsapp.net",
      phone: "15550002",
      lid: null,
      error: 403,
      addRequest: { code: "AbC", expiration: 1700000000 },
    });
  });

  it("names each action's result from WhatsApp's per-participant code", () => {
    expect(statusFor("add", null)).toBe("added");
    expect(statusFor("add", 409)).toBe("already_member");
    expect(statusFor("add", 404)).toBe("not_on_whatsapp");
    expect(statusFor("remove", 404)).toBe("not_member");
    expect(statusFor("promote", null)).toBe("promoted");
    expect(statusFor("demote", 500)).toBe("failed");
  });

  it("matches answers to the participants asked by number; one not asked for (the creator) is nobody's", () => {
    const creator = participantOutcome(p("15559999@s.whatsapp.net"));
    const a = participantOutcome(p("15550001@s.whatsapp.net"));
    const lid = participantOutcome(p("123@lid", "403"));
    const targets = targetsAmong([], ["15550002", "15550001"]);
    const matched = matchOutcomes(targets, [creator, a, lid]);
    expect(matched[1]).toBe(a);
    // Known only by a LID nobody was asked by, an answer goes to the next participant still unmatched.
    expect(matched[0]).toBe(lid);
  });

  it("names a member by number or LID with the id the group lists it under, and matches its answer by either", () => {
    const members = [
      { id: "111@lid", phoneNumber: "15550001@s.whatsapp.net" },
      { id: "15550002@s.whatsapp.net", lid: "222@lid" },
    ];
    const targets = targetsAmong(members, ["15550001", "222@lid", "15550003"]);
    expect(targets).toEqual([
      { phone_number: "15550001", lid: "111@lid", jid: "111@lid" },
      { phone_number: "15550002", lid: "222@lid", jid: "15550002@s.whatsapp.net" },
      // Not a member: asked for by its number, for WhatsApp to refuse.
      { phone_number: "15550003", lid: null, jid: "15550003@s.whatsapp.net" },
    ]);
    const byLid = participantOutcome(p("111@lid"));
    const byNumber = { tag: "participant", attrs: { jid: "222@lid", phone_number: "15550002@s.whatsapp.net", error: "404" } };
    const matched = matchOutcomes(targets, [participantOutcome(byNumber), byLid]);
    expect(matched[0]).toBe(byLid);
    expect(matched[1]).toMatchObject({ lid: "222@lid", phone: "15550002", error: 404 });
    expect(matched[2]).toBeUndefined();
  });
});
