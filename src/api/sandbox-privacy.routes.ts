import { ok } from "./http";
import type { Api } from "./route";
import { PhoneParams, drive, envelope, sandbox } from "./sandbox.common";
import { PhonePrivacyInput } from "../sandbox/driver.schemas";
import { SandboxPhoneProfileView } from "../sandbox/driver.responses";

// The sandbox driver's profile and privacy routes: a phone's own profile and privacy as the server
// holds them (what a linked session set shows here), and the phone changing its privacy in its app.

export function registerSandboxPrivacyRoutes(api: Api): void {
  const tags = ["Sandbox"];
  const responses = { 200: { description: "The phone's profile and privacy", schema: envelope({ profile: SandboxPhoneProfileView }) }, 404: { description: "No such phone" } };

  api.route({
    method: "get",
    path: "/v1/sandbox/phones/{phone_number}/profile",
    summary: "A sandbox phone's profile and privacy as the server holds them",
    description: "Push name, about text, picture (id, size, SHA-256 of the JPEG), business flag, every privacy setting with its \"except\" lists, and who sees its status updates.",
    tags,
    auth: "account",
    params: PhoneParams,
    responses,
    async handler({ env, auth, params }) {
      return ok({ profile: await drive(() => sandbox(env, auth.account.id).phoneOwnProfile(params.phone_number)) });
    },
  });

  api.route({
    method: "patch",
    path: "/v1/sandbox/phones/{phone_number}/privacy",
    summary: "A sandbox phone changes its privacy settings",
    description:
      "As the phone app does: stored, and each linked session told by an `account_sync` notification. `except` replaces a field's \"my contacts except…\" list; `status_privacy` sets who sees status updates (with its list).",
    tags,
    auth: "account",
    params: PhoneParams,
    body: PhonePrivacyInput.meta({ example: { last_seen: "contacts", status_privacy: { type: "whitelist", contacts: ["15550001002"] } } }),
    responses: { ...responses, 422: { description: "A value the setting does not take" } },
    async handler({ env, auth, params, body }) {
      return ok({ profile: await drive(() => sandbox(env, auth.account.id).setPhonePrivacy(params.phone_number, body)) });
    },
  });
}
