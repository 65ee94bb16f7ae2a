import { ok } from "./http";
import type { Api } from "./route";
import { peopleCall } from "./people.call";
import { changeCall } from "./profile.actions";
import { PrivacyEnvelope, ProfileEnvelope, StatusPrivacyEnvelope, UpdatePrivacyBody, UpdateProfileBody } from "./profile.schemas";
import { SessionIdParams } from "./sessions.schemas";
import { WHATSAPP_ERRORS, errorSpec } from "./people.responses";

// The session's own WhatsApp profile (push name, about text, picture) and privacy settings. Every
// route asks WhatsApp through the session's object (session/profile.ts, session/privacy.ts).

const COMMON = {
  ...WHATSAPP_ERRORS,
  502: errorSpec("WhatsApp refused or did not answer (`whatsapp_error`; its code in `details.whatsapp_code`; after a partial change, `details.applied`)."),
};
const base = "/v1/whatsapp/sessions/{id}";
const tags = ["Profile"];

export function registerProfileRoutes(api: Api): void {
  api.route({
    method: "get",
    path: `${base}/profile`,
    summary: "The session's own profile: push name, about text, picture",
    tags,
    auth: "account",
    params: SessionIdParams,
    responses: { 200: { description: "The profile", schema: ProfileEnvelope }, ...COMMON },
    async handler({ env, auth, params }) {
      return ok(await peopleCall(env, auth, params.id, { area: "profile", op: "get" }));
    },
  });

  api.route({
    method: "patch",
    path: `${base}/profile`,
    summary: "Change the session's push name, about text or picture",
    description:
      "`name` goes through app state as the phone's own setting does (every linked device sees it); the session's `display_name` follows. `picture_url` must be a JPEG (fetched like message media, before anything changes); null removes the picture. Each field is its own WhatsApp request, in the order name, about, picture_url: when one fails, the error's `details.applied` lists the fields already changed.",
    tags,
    auth: "account",
    params: SessionIdParams,
    body: UpdateProfileBody,
    responses: { 200: { description: "The profile as changed", schema: ProfileEnvelope }, ...COMMON, 422: errorSpec("Invalid fields, or a picture_url that is not a reachable JPEG (nothing changed).") },
    async handler({ env, auth, params, body }) {
      return ok(await changeCall(env, auth, params.id, { area: "profile", op: "update", changes: body }));
    },
  });

  api.route({
    method: "get",
    path: `${base}/privacy`,
    summary: "The session's privacy settings",
    description:
      "Read from WhatsApp each time, so a change made on the phone shows. Values: `all` (everyone), `contacts`, `contact_blacklist` (my contacts except…), `none` (nobody), `match_last_seen` (online: same as last seen), `known` (calls: known contacts only).",
    tags,
    auth: "account",
    params: SessionIdParams,
    responses: { 200: { description: "Every setting", schema: PrivacyEnvelope }, ...COMMON },
    async handler({ env, auth, params }) {
      return ok(await peopleCall(env, auth, params.id, { area: "profile", op: "privacy" }));
    },
  });

  api.route({
    method: "patch",
    path: `${base}/privacy`,
    summary: "Change privacy settings",
    description:
      "Each setting takes only its own values (see the body schema; anything else is 422, nothing changed). Each is its own WhatsApp request, in the order listed in the schema: when one fails, the error's `details.applied` lists those already changed. `contact_blacklist` keeps the list of people excepted that the phone set.",
    tags,
    auth: "account",
    params: SessionIdParams,
    body: UpdatePrivacyBody,
    responses: { 200: { description: "Every setting after the change", schema: PrivacyEnvelope }, ...COMMON, 422: errorSpec("A setting or value WhatsApp does not have.") },
    async handler({ env, auth, params, body }) {
      return ok(await changeCall(env, auth, params.id, { area: "profile", op: "set_privacy", changes: body }));
    },
  });

  api.route({
    method: "get",
    path: `${base}/status-privacy`,
    summary: "Who sees the session's status updates",
    description:
      "`contacts`: all contacts; `whitelist`: only the numbers in `contacts`; `blacklist`: all contacts but them. Set on the phone (WhatsApp's linked-device protocol has no request to change it).",
    tags,
    auth: "account",
    params: SessionIdParams,
    responses: { 200: { description: "The status audience", schema: StatusPrivacyEnvelope }, ...COMMON },
    async handler({ env, auth, params }) {
      return ok(await peopleCall(env, auth, params.id, { area: "profile", op: "status_privacy" }));
    },
  });
}
