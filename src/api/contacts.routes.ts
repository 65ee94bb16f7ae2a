import { ok } from "./http";
import type { Api } from "./route";
import { contactPage, digitsOf } from "./contacts.actions";
import { BlockEnvelope, BlocklistEnvelope, CheckBody, CheckEnvelope, ContactsEnvelope, ListContactsQuery, ProfileEnvelope, SaveBody, SavedEnvelope } from "./contacts.schemas";
import { peopleCall } from "./people.call";
import { PhoneNumberParams } from "./people.schemas";
import { SessionIdParams } from "./sessions.schemas";
import { WHATSAPP_ERRORS, errorSpec } from "./people.responses";

// A session's contacts and blocklist. The list reads D1 (contacts.actions.ts); everything else
// asks WhatsApp through the session's object (session/contacts.ts).

const COMMON = WHATSAPP_ERRORS;
const ONE = { ...COMMON, 404: errorSpec("Unknown session (or another account's), or a number not on WhatsApp (`contact_not_found`).") };
const base = "/v1/whatsapp/sessions/{id}";
const tags = ["Contacts"];

export function registerContactRoutes(api: Api): void {
  api.route({
    method: "post",
    path: `${base}/contacts/check`,
    summary: "Check which phone numbers are on WhatsApp",
    description: "Answers each number in the order given, with its WhatsApp id and LID when it is on WhatsApp. Up to 500 numbers; WhatsApp is asked 50 at a time.",
    tags,
    auth: "account",
    params: SessionIdParams,
    body: CheckBody,
    responses: { 200: { description: "Each number's result", schema: CheckEnvelope }, ...COMMON, 422: errorSpec("Invalid fields: a number that is not valid (its index in `details`).") },
    async handler({ env, auth, params, body }) {
      const phones = body.phone_numbers.map(digitsOf);
      return ok(await peopleCall(env, auth, params.id, { area: "contacts", op: "check", phones }));
    },
  });

  api.route({
    method: "get",
    path: `${base}/contacts`,
    summary: "List the session's contacts (cursor pagination)",
    description:
      "People the session knows: names saved in the phone's address book, history sync's chats and contacts, and push names seen on incoming messages. Read from the gateway's store (WhatsApp is not asked); ordered by number. Pass `next_cursor` as `cursor` for the next page.",
    tags,
    auth: "account",
    params: SessionIdParams,
    query: ListContactsQuery,
    responses: { 200: { description: "A page of contacts", schema: ContactsEnvelope }, 404: COMMON[404], 422: errorSpec("Invalid query (`cursor` not from this API, `limit` out of range).") },
    async handler({ env, auth, params, query }) {
      return ok(await contactPage(env, auth, params.id, query));
    },
  });

  api.route({
    method: "get",
    path: `${base}/contacts/{phone_number}`,
    summary: "One contact's profile: name, about text, profile picture, business flag",
    tags,
    auth: "account",
    params: PhoneNumberParams,
    responses: { 200: { description: "The contact", schema: ProfileEnvelope }, ...ONE },
    async handler({ env, auth, params }) {
      return ok(await peopleCall(env, auth, params.id, { area: "contacts", op: "get", phone: digitsOf(params.phone_number) }));
    },
  });

  api.route({
    method: "put",
    path: `${base}/contacts/{phone_number}`,
    summary: "Save a contact's name in the address book",
    description: "Saved through app state as the phone app saves it, so the phone and the other linked devices show the same name.",
    tags,
    auth: "account",
    params: PhoneNumberParams,
    body: SaveBody,
    responses: { 200: { description: "The saved contact", schema: SavedEnvelope }, ...ONE },
    async handler({ env, auth, params, body }) {
      return ok(await peopleCall(env, auth, params.id, { area: "contacts", op: "save", phone: digitsOf(params.phone_number), name: body.name }));
    },
  });

  for (const block of [true, false]) {
    api.route({
      method: block ? "post" : "delete",
      path: `${base}/contacts/{phone_number}/block`,
      summary: block ? "Block a contact" : "Unblock a contact",
      tags,
      auth: "account",
      params: PhoneNumberParams,
      responses: { 200: { description: "The contact's new state", schema: BlockEnvelope }, ...ONE },
      async handler({ env, auth, params }) {
        return ok(await peopleCall(env, auth, params.id, { area: "contacts", op: "block", phone: digitsOf(params.phone_number), block }));
      },
    });
  }

  api.route({
    method: "get",
    path: `${base}/blocklist`,
    summary: "The people the session's account has blocked",
    tags,
    auth: "account",
    params: SessionIdParams,
    responses: { 200: { description: "The blocklist", schema: BlocklistEnvelope }, ...COMMON },
    async handler({ env, auth, params }) {
      return ok(await peopleCall(env, auth, params.id, { area: "contacts", op: "blocklist" }));
    },
  });
}
