import { ok } from "./http";
import type { Api } from "./route";
import { LidEnvelope, LidParams, LidQuery } from "./lids.schemas";
import { peopleCall } from "./people.call";
import { SessionIdParams } from "./sessions.schemas";
import type { LidPair } from "../session/lids.types";
import { WHATSAPP_ERRORS, errorSpec } from "./people.responses";

// LID ↔ phone number for a session (session/lids.ts): what WhatsApp revealed to it, or (a
// number's LID) what WhatsApp answers when asked.

const COMMON = { ...WHATSAPP_ERRORS, 422: errorSpec("Invalid input (`validation_error`).") };
const base = "/v1/whatsapp/sessions/{id}/lids";
const tags = ["LIDs"];

export function registerLidRoutes(api: Api): void {
  api.route({
    method: "get",
    path: `${base}/{lid}`,
    summary: "The phone number behind a LID",
    description:
      "WhatsApp addresses many chats and most groups by LID (`…@lid`), an id that is not a phone number. Answers the number when WhatsApp revealed it to this session (on a message, receipt or group member from that LID); WhatsApp has no query for it, so an unrevealed LID is 404.",
    tags,
    auth: "account",
    params: LidParams,
    responses: {
      200: { description: "The LID and its phone number", schema: LidEnvelope },
      ...COMMON,
      404: errorSpec("Unknown session (or another account's), or a LID whose number this session does not know (`lid_not_found`)."),
    },
    async handler({ env, auth, params }) {
      const pair = await peopleCall<LidPair>(env, auth, params.id, { area: "lids", op: "phone_of", lid: params.lid });
      return ok({ lid: pair.lid, phone_number: pair.phone_number });
    },
  });

  api.route({
    method: "get",
    path: base,
    summary: "The LID of a phone number",
    description: "`phone_number` is required. Answers from what the session knows, else asks WhatsApp (usync); a number not on WhatsApp is 404.",
    tags,
    auth: "account",
    params: SessionIdParams,
    query: LidQuery,
    responses: {
      200: { description: "The phone number and its LID", schema: LidEnvelope },
      ...COMMON,
      404: errorSpec("Unknown session (or another account's), or a number WhatsApp has no LID for (`lid_not_found`)."),
    },
    async handler({ env, auth, params, query }) {
      const pair = await peopleCall<LidPair>(env, auth, params.id, { area: "lids", op: "lid_of", phone: query.phone_number });
      return ok({ phone_number: pair.phone_number, lid: pair.lid });
    },
  });
}
