import { ok } from "./http";
import type { Api } from "./route";
import { PhoneParams, drive, envelope, sandbox } from "./sandbox.common";
import { PhoneChatActionInput } from "../sandbox/driver.schemas";
import { SandboxAppState, SandboxAppStatePushed } from "../sandbox/driver.responses";

// The sandbox driver's chat routes: the phone's view of its app state (what its linked devices
// archived, pinned, muted, cleared, named), and the phone changing a chat's settings itself
// (its linked sessions fetch the patch and update their chats).

const tags = ["Sandbox"];
const noPhone = { 404: { description: "No such phone" } };

export function registerSandboxChatRoutes(api: Api): void {
  api.route({
    method: "get",
    path: "/v1/sandbox/phones/{phone_number}/app-state",
    summary: "A sandbox phone's view of its app state (chat settings, contact names, push name)",
    description: "The phone decrypts every patch its linked devices pushed (and its own) with the keys it shared, checks their MACs and folds the mutations.",
    tags,
    auth: "account",
    params: PhoneParams,
    responses: { 200: { description: "The phone's view", schema: envelope({ app_state: SandboxAppState }) }, ...noPhone },
    async handler({ env, auth, params }) {
      return ok({ app_state: await drive(() => sandbox(env, auth.account.id).phoneAppState(params.phone_number)) });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/phones/{phone_number}/chat-actions",
    summary: "A sandbox phone archives, pins, mutes, clears or marks a chat read itself",
    description: "Stored as the next app-state patch (from the phone); its linked devices get `server_sync` and fetch it.",
    tags,
    auth: "account",
    params: PhoneParams,
    body: PhoneChatActionInput.meta({ example: { chat: "15550009999", action: "archive" } }),
    responses: { 200: { description: "The patch stored", schema: envelope({ patch: SandboxAppStatePushed }) }, ...noPhone },
    async handler({ env, auth, params, body }) {
      return ok({ patch: await drive(() => sandbox(env, auth.account.id).phoneChatAction(params.phone_number, body)) });
    },
  });
}
