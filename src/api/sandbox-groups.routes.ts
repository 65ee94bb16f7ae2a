import { z } from "zod";
import { ok } from "./http";
import type { Api } from "./route";
import { PhoneParams, drive, envelope, sandbox } from "./sandbox.common";
import {
  GroupJid,
  GroupParticipantAction,
  GroupParticipantsInput,
  GroupPatchInput,
  GroupRequestAction,
  InviteLinkInput,
  JoinLinkInput,
  PhonePatchInput,
} from "../sandbox/driver.schemas";
import { SandboxGroup, SandboxInviteLink, SandboxJoinResult, SandboxParticipantsResult, SandboxPhone } from "../sandbox/driver.responses";

// The sandbox driver's group routes: what a simulated phone does in groups (members, info and
// settings, invite links, join requests, its own "who can add me"), through the same server
// operations the linked session's iqs use, so the session hears the same notifications.

const GroupParams = z.object({ group_jid: GroupJid });
const PhoneGroupParams = PhoneParams.extend({ group_jid: GroupJid });
const refusals = {
  403: { description: "The phone is not an admin of the group" },
  404: { description: "No such phone or group" },
  409: { description: "The phone is not a member of the group" },
};

export function registerSandboxGroupRoutes(api: Api): void {
  const tags = ["Sandbox"];

  api.route({
    method: "get",
    path: "/v1/sandbox/groups/{group_jid}",
    summary: "A sandbox group as the world sees it (members, settings, invite code, pending join requests)",
    tags,
    auth: "account",
    params: GroupParams,
    responses: { 200: { description: "The group", schema: envelope({ group: SandboxGroup }) }, 404: refusals[404] },
    async handler({ env, auth, params }) {
      return ok({ group: await drive(() => sandbox(env, auth.account.id).getGroup(params.group_jid)) });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/phones/{phone_number}/groups/{group_jid}/participants/{action}",
    summary: "A sandbox phone adds, removes, promotes or demotes group members",
    description: "Each participant gets WhatsApp's own per-participant code: 200 done; 403 its privacy refuses a direct add (`add_request` is the invite it gets instead); 404 not on WhatsApp or not in the group; 409 already a member.",
    tags,
    auth: "account",
    idempotency: "refused", // Membership changes are answered per participant; a repeat answers 409/404 for each.
    params: PhoneGroupParams.extend({ action: GroupParticipantAction }),
    body: GroupParticipantsInput.meta({ example: { participants: ["15550001002", "15550009999"] } }),
    responses: { 200: { description: "Per participant", schema: envelope({ result: SandboxParticipantsResult }) }, ...refusals },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      return ok({ result: await drive(() => stub.changeGroupParticipants(params.phone_number, params.group_jid, params.action, body.participants)) });
    },
  });

  api.route({
    method: "patch",
    path: "/v1/sandbox/phones/{phone_number}/groups/{group_jid}",
    summary: "A sandbox phone changes a group's subject, description or settings",
    description: "Subject and description: any member unless the group is locked; settings: admins. Nothing changes when any field is refused. `description: null` removes it.",
    tags,
    auth: "account",
    params: PhoneGroupParams,
    body: GroupPatchInput.meta({ example: { subject: "Book club (Fridays)", announce: true } }),
    responses: { 200: { description: "The group", schema: envelope({ group: SandboxGroup }) }, ...refusals },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      return ok({ group: await drive(() => stub.updateGroup(params.phone_number, params.group_jid, body)) });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/phones/{phone_number}/groups/{group_jid}/invite-link",
    summary: "A sandbox admin phone gets the group's invite link (reset: revoke it and make a new one)",
    tags,
    auth: "account",
    idempotency: "refused", // Without reset it is a read; with reset each call revokes the last link.
    params: PhoneGroupParams,
    body: InviteLinkInput.meta({ example: { reset: true } }),
    bodyOptional: true,
    responses: { 200: { description: "The link", schema: envelope({ invite: SandboxInviteLink }) }, ...refusals },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      return ok({ invite: await drive(() => stub.groupInviteLink(params.phone_number, params.group_jid, body ?? {})) });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/phones/{phone_number}/groups/{group_jid}/requests/{action}",
    summary: "A sandbox admin phone approves or rejects requests to join a group",
    description: "Each participant: 200 done, 404 no pending request from them.",
    tags,
    auth: "account",
    idempotency: "refused", // A request is answered once; a repeat answers 404 per participant.
    params: PhoneGroupParams.extend({ action: GroupRequestAction }),
    body: GroupParticipantsInput.meta({ example: { participants: ["15550001002", "15550009999"] } }),
    responses: { 200: { description: "Per participant", schema: envelope({ result: SandboxParticipantsResult }) }, ...refusals },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      return ok({ result: await drive(() => stub.answerGroupRequests(params.phone_number, params.group_jid, params.action, body.participants)) });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/phones/{phone_number}/group-join-requests",
    summary: "A sandbox phone joins a group by its invite link (or asks to, when the group wants approval)",
    description: "`joined`: the phone is a member now; `pending`: an admin must approve (the admins' devices are told). 404 no group has the link, 410 the link was revoked, 409 already a member.",
    tags,
    auth: "account",
    idempotency: "refused", // A repeat answers 409 (joined) or pending again.
    params: PhoneParams,
    body: JoinLinkInput.meta({ example: { link: "https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv" } }),
    responses: {
      200: { description: "Joined or pending", schema: envelope({ result: SandboxJoinResult }) },
      404: { description: "No such phone, or no group has this link" },
      409: { description: "Already a member" },
      410: { description: "The link was revoked" },
    },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      return ok({ result: await drive(() => stub.joinGroupByLink(params.phone_number, body.link)) });
    },
  });

  api.route({
    method: "patch",
    path: "/v1/sandbox/phones/{phone_number}",
    summary: "Change a sandbox phone's settings: who can add it to groups, LID addressing",
    description: "`group_add_privacy`: `all`, `contacts` (people it has chatted with) or `none`; an add it refuses answers 403 with an invite for the phone. `lid_addressed`: WhatsApp addresses the phone's chats by LID (its messages and receipts reach linked devices from its `…@lid`, its number in `sender_pn`).",
    tags,
    auth: "account",
    params: PhoneParams,
    body: PhonePatchInput.meta({ example: { group_add_privacy: "contacts" } }),
    responses: { 200: { description: "The phone", schema: envelope({ phone: SandboxPhone }) }, 404: { description: "No such phone" } },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      return ok({ phone: await drive(() => stub.updatePhone(params.phone_number, body)) });
    },
  });
}
