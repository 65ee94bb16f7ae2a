import { ok } from "./http";
import type { Api } from "./route";
import { PhoneParams, drive, envelope, sandbox } from "./sandbox.common";
import { AddressBookInput, PhoneNumber, PhoneProfileInput } from "../sandbox/driver.schemas";
import { SandboxAddressBookEntry, SandboxBlocklist, SandboxPhoneProfile } from "../sandbox/driver.responses";

// The sandbox driver's contact routes: what a simulated phone shows others (about, picture,
// business profile), whom it saved in its address book, and its blocklist as the server holds it.

const tags = ["Sandbox"];
const notFound = { 404: { description: "No such phone" } };

export function registerSandboxContactRoutes(api: Api): void {
  api.route({
    method: "patch",
    path: "/v1/sandbox/phones/{phone_number}/profile",
    summary: "Set what a sandbox phone shows others: about text, profile picture, business profile",
    description: "Linked sessions read it through WhatsApp's own queries (usync status, w:profile:picture, w:biz), subject to the phone's privacy settings and blocklist.",
    tags,
    auth: "account",
    params: PhoneParams,
    body: PhoneProfileInput.meta({ example: { about: "Available", business: true, business_description: "Bakery" } }),
    responses: { 200: { description: "The phone's profile", schema: envelope({ profile: SandboxPhoneProfile }) }, ...notFound },
    async handler({ env, auth, params, body }) {
      return ok({ profile: await drive(() => sandbox(env, auth.account.id).setPhoneProfile(params.phone_number, body)) });
    },
  });

  api.route({
    method: "put",
    path: "/v1/sandbox/phones/{phone_number}/contacts/{contact}",
    summary: "Save a number in a sandbox phone's address book",
    description: "A phone's contacts are who its \"my contacts\" privacy settings mean.",
    tags,
    auth: "account",
    params: PhoneParams.extend({ contact: PhoneNumber }),
    body: AddressBookInput.meta({ example: { name: "Hana" } }),
    responses: { 200: { description: "The entry", schema: envelope({ contact: SandboxAddressBookEntry }) }, ...notFound },
    async handler({ env, auth, params, body }) {
      return ok({ contact: await drive(() => sandbox(env, auth.account.id).saveAddressBookContact(params.phone_number, params.contact, body)) });
    },
  });

  api.route({
    method: "get",
    path: "/v1/sandbox/phones/{phone_number}/blocklist",
    summary: "Whom a sandbox phone (or a session's account) has blocked, as the server holds it",
    tags,
    auth: "account",
    params: PhoneParams,
    responses: { 200: { description: "The blocklist", schema: envelope({ blocklist: SandboxBlocklist }) }, ...notFound },
    async handler({ env, auth, params }) {
      return ok({ blocklist: await drive(() => sandbox(env, auth.account.id).phoneBlocklist(params.phone_number)) });
    },
  });

  for (const block of [true, false]) {
    api.route({
      method: block ? "put" : "delete",
      path: "/v1/sandbox/phones/{phone_number}/blocklist/{contact}",
      summary: block ? "A sandbox phone blocks a number" : "A sandbox phone unblocks a number",
      description: "As from the phone's own app: its linked devices hear of it, and the number's 1:1 messages no longer reach it.",
      tags,
      auth: "account",
      params: PhoneParams.extend({ contact: PhoneNumber }),
      responses: { 200: { description: "The phone's blocklist", schema: envelope({ blocklist: SandboxBlocklist }) }, 404: { description: "No such phone, or the number is not on WhatsApp" } },
      async handler({ env, auth, params }) {
        return ok({ blocklist: await drive(() => sandbox(env, auth.account.id).setPhoneBlocked(params.phone_number, params.contact, block)) });
      },
    });
  }
}
