import { ok } from "./http";
import type { Api } from "./route";
import { PhoneParams, drive, envelope, sandbox } from "./sandbox.common";
import { PhoneChatStateInput, PhonePresenceInput } from "../sandbox/driver.schemas";
import { SandboxChatStateSent, SandboxChatStatesSeen, SandboxPresence } from "../sandbox/driver.responses";

// The sandbox driver's presence routes: a simulated phone goes online or offline (its subscribers
// hear it), types, records or pauses in a chat (the chat's linked devices hear it), and what chat
// states the linked sessions sent it.

const tags = ["Sandbox"];
const noPhone = { 404: { description: "No such phone (or chat)" } };

export function registerSandboxPresenceRoutes(api: Api): void {
  api.route({
    method: "get",
    path: "/v1/sandbox/phones/{phone_number}/presence",
    summary: "A sandbox account's presence (set by its linked sessions or by the driver)",
    tags,
    auth: "account",
    params: PhoneParams,
    responses: { 200: { description: "The presence", schema: envelope({ presence: SandboxPresence }) }, ...noPhone },
    async handler({ env, auth, params }) {
      return ok({ presence: await drive(() => sandbox(env, auth.account.id).phonePresence(params.phone_number)) });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/phones/{phone_number}/presence",
    summary: "A sandbox phone goes online or offline",
    description: "Sessions subscribed to the phone get a `presence` stanza (going offline sets its last seen, shown as the phone's privacy allows).",
    tags,
    auth: "account",
    params: PhoneParams,
    body: PhonePresenceInput.meta({ example: { state: "available" } }),
    responses: { 200: { description: "The presence", schema: envelope({ presence: SandboxPresence }) }, ...noPhone },
    async handler({ env, auth, params, body }) {
      return ok({ presence: await drive(() => sandbox(env, auth.account.id).setPhonePresence(params.phone_number, body)) });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/phones/{phone_number}/chatstate",
    summary: "A sandbox phone types, records audio or pauses in a chat",
    description: "The chat's connected linked devices get a `chatstate` stanza (in a group, with the phone as `participant`); a device not connected misses it, as on WhatsApp.",
    tags,
    auth: "account",
    params: PhoneParams,
    body: PhoneChatStateInput.meta({ example: { to: "15550001001", state: "typing" } }),
    responses: {
      200: { description: "Sent", schema: envelope({ chatstate: SandboxChatStateSent }) },
      ...noPhone,
      409: { description: "The phone is not a member of the group" },
      422: { description: "Invalid input, or `to` is the phone itself" },
    },
    async handler({ env, auth, params, body }) {
      return ok({ chatstate: await drive(() => sandbox(env, auth.account.id).sendChatState(params.phone_number, body)) });
    },
  });

  api.route({
    method: "get",
    path: "/v1/sandbox/phones/{phone_number}/chatstates",
    summary: "The chat states (typing, recording, paused) a sandbox phone was sent, oldest first",
    tags,
    auth: "account",
    params: PhoneParams,
    responses: { 200: { description: "What the phone saw", schema: envelope({ chatstates: SandboxChatStatesSeen }) }, ...noPhone },
    async handler({ env, auth, params }) {
      return ok({ chatstates: await drive(() => sandbox(env, auth.account.id).chatStatesSeen(params.phone_number)) });
    },
  });
}
