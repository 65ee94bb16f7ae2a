import { ok } from "./http";
import type { Api, ResponseSpec } from "./route";
import { groupCall, participantNames } from "./groups.actions";
import {
  AddBody,
  CreateGroupBody,
  CreatedEnvelope,
  DeletedEnvelope,
  GroupEnvelope,
  GroupIdParams,
  GroupsEnvelope,
  InviteInfoQuery,
  InviteLinkEnvelope,
  InviteLinkQuery,
  JoinBody,
  JoinEnvelope,
  LeftEnvelope,
  ParticipantsBody,
  RequestsEnvelope,
  ResultsEnvelope,
  UpdateGroupBody,
  inviteCode,
} from "./groups.schemas";
import { ErrorEnvelope } from "./schemas";
import { SessionIdParams } from "./sessions.schemas";
import type { GroupOp } from "../session/groups.types";

// A session's WhatsApp groups. Every route asks the session's object, which asks WhatsApp
// (groups.actions.ts → session/groups.ts); nothing about groups is stored by the gateway.

const error = (description: string): ResponseSpec => ({ description, schema: ErrorEnvelope });
const COMMON = {
  404: error("Unknown session (or another account's), or a group this session is not in (`group_not_found`)."),
  409: error("The session is not connected (`session_not_connected`)."),
  429: error("WhatsApp is limiting this account's requests (`rate_limited`)."),
  502: error("WhatsApp refused or did not answer (`whatsapp_error`; its code in `details.whatsapp_code`)."),
};
const ADMIN = { ...COMMON, 403: error("The session is not an admin of the group (`not_group_admin`).") };
const base = "/v1/whatsapp/sessions/{id}/groups";
const tags = ["Groups"];

interface ParticipantsRoute {
  path: string;
  summary: string;
  description?: string;
  body: typeof AddBody | typeof ParticipantsBody;
  op: (groupId: string, names: string[]) => GroupOp;
}

/** A POST that acts on a list of participants and answers each one's result. */
function participantsRoute(api: Api, spec: ParticipantsRoute): void {
  api.route({
    method: "post",
    path: `${base}/{group_id}/${spec.path}`,
    summary: spec.summary,
    description: spec.description,
    tags,
    auth: "account",
    params: GroupIdParams,
    body: spec.body,
    responses: { 200: { description: "Each participant's result", schema: ResultsEnvelope }, ...ADMIN },
    async handler({ env, auth, params, body }) {
      const op = spec.op(params.group_id, participantNames(body.participants));
      return ok({ participants: (await groupCall(env, auth, params.id, op, "participants")).participants });
    },
  });
}

export function registerGroupRoutes(api: Api): void {
  api.route({
    method: "get",
    path: base,
    summary: "List the groups the session is in",
    tags,
    auth: "account",
    params: SessionIdParams,
    responses: { 200: { description: "The groups, with the session's role in each", schema: GroupsEnvelope }, ...COMMON },
    async handler({ env, auth, params }) {
      return ok({ groups: (await groupCall(env, auth, params.id, { op: "list" }, "groups")).groups });
    },
  });

  api.route({
    method: "post",
    path: base,
    summary: "Create a group",
    description:
      "Numbers not on WhatsApp are left out (`not_on_whatsapp`). A contact whose privacy settings refuse being added directly is sent a group invite message instead (`invited`). Once WhatsApp made the group the answer is 201, even if it refused the description (`description_set: false`).",
    tags,
    auth: "account",
    params: SessionIdParams,
    body: CreateGroupBody,
    responses: {
      201: { description: "The new group and each participant's result", schema: CreatedEnvelope },
      ...COMMON,
      422: error("Invalid fields, or none of the participants is on WhatsApp (`participants_not_on_whatsapp`; nothing created)."),
    },
    async handler({ env, auth, params, body }) {
      const { group, participants, description_set } = await groupCall(env, auth, params.id, { op: "create", name: body.name, participants: participantNames(body.participants), description: body.description }, "created");
      return ok({ group, participants, description_set }, 201);
    },
  });

  // Before /groups/{group_id}: the router takes the first route that matches.
  api.route({
    method: "get",
    path: `${base}/invite-info`,
    summary: "Preview the group behind an invite link (without joining)",
    tags,
    auth: "account",
    params: SessionIdParams,
    query: InviteInfoQuery,
    responses: { 200: { description: "The group", schema: GroupEnvelope }, ...COMMON, 404: error("Unknown session, or an invalid link (`invite_link_invalid`)."), 410: error("The link was revoked (`invite_link_revoked`).") },
    async handler({ env, auth, params, query }) {
      return ok({ group: (await groupCall(env, auth, params.id, { op: "invite_info", code: inviteCode(query.link)! }, "invite_info")).group });
    },
  });

  api.route({
    method: "post",
    path: `${base}/join`,
    summary: "Join a group by invite link",
    description: "A group that approves new members answers `status: requested`: an admin must accept the request.",
    tags,
    auth: "account",
    params: SessionIdParams,
    body: JoinBody,
    responses: {
      200: { description: "Joined, or asked to join", schema: JoinEnvelope },
      ...COMMON,
      404: error("Unknown session, or an invalid link (`invite_link_invalid`)."),
      409: error("The session is not connected (`session_not_connected`), or already a member (`already_group_member`)."),
      410: error("The link was revoked (`invite_link_revoked`)."),
    },
    async handler({ env, auth, params, body }) {
      const { group_id, status } = await groupCall(env, auth, params.id, { op: "join", code: inviteCode(body.link)! }, "joined");
      return ok({ group_id, status });
    },
  });

  api.route({
    method: "get",
    path: `${base}/{group_id}`,
    summary: "A group's info and participants",
    tags,
    auth: "account",
    params: GroupIdParams,
    responses: { 200: { description: "The group", schema: GroupEnvelope }, ...COMMON },
    async handler({ env, auth, params }) {
      return ok({ group: (await groupCall(env, auth, params.id, { op: "get", id: params.group_id }, "group")).group });
    },
  });

  api.route({
    method: "patch",
    path: `${base}/{group_id}`,
    summary: "Change a group's name, description, photo or settings",
    description:
      "`announce`: only admins send. `locked`: only admins edit the info. Settings are the admins'; name, description and photo too once the group is locked. Each field is its own WhatsApp request, in the order name, description, photo_url, announce, locked, join_approval: when one fails, the error's `details.applied` lists the fields already changed.",
    tags,
    auth: "account",
    params: GroupIdParams,
    body: UpdateGroupBody,
    responses: {
      200: { description: "The group as changed", schema: GroupEnvelope },
      ...ADMIN,
      422: error("Invalid fields, or a photo_url that is not a reachable JPEG (nothing changed)."),
    },
    async handler({ env, auth, params, body }) {
      return ok({ group: (await groupCall(env, auth, params.id, { op: "update", id: params.group_id, changes: body }, "group")).group });
    },
  });

  api.route({
    method: "delete",
    path: `${base}/{group_id}`,
    summary: "Empty a group and leave it",
    description:
      "WhatsApp has no true group deletion: this removes every other participant, then the session leaves, only if every removal succeeded (`left: false` otherwise, or when the leave itself failed; the session is then still in the group). An admin who is not a superadmin cannot remove the group's creator: that is refused up front with 409 `cannot_remove_creator`, nothing changed.",
    tags,
    auth: "account",
    params: GroupIdParams,
    responses: {
      200: { description: "Each removal's result, and whether the session left", schema: DeletedEnvelope },
      ...ADMIN,
      409: error("The session is not connected (`session_not_connected`), or the creator cannot be removed (`cannot_remove_creator`)."),
    },
    async handler({ env, auth, params }) {
      const { participants, left } = await groupCall(env, auth, params.id, { op: "delete", id: params.group_id }, "deleted");
      return ok({ participants, left });
    },
  });

  participantsRoute(api, {
    path: "participants/add",
    summary: "Add participants",
    description: "Phone numbers only. A contact whose privacy refuses direct adds is sent a group invite message (`invited`).",
    body: AddBody,
    op: (id, names) => ({ op: "participants", id, action: "add", participants: names }),
  });
  for (const action of ["remove", "promote", "demote"] as const) {
    participantsRoute(api, {
      path: `participants/${action}`,
      summary: `${action[0].toUpperCase()}${action.slice(1)} participants`,
      description: "Each participant by phone number or by LID (`…@lid`, as the group lists it).",
      body: ParticipantsBody,
      op: (id, names) => ({ op: "participants", id, action, participants: names }),
    });
  }

  api.route({
    method: "get",
    path: `${base}/{group_id}/invite-link`,
    summary: "The group's invite link (`reset=true` revokes it and answers a new one)",
    description: "`reset=true` is kept for clients that expect it; it changes state on a GET (a prefetching proxy could revoke the link): prefer POST …/invite-link/reset.",
    tags,
    auth: "account",
    params: GroupIdParams,
    query: InviteLinkQuery,
    responses: { 200: { description: "The link", schema: InviteLinkEnvelope }, ...ADMIN },
    async handler({ env, auth, params, query }) {
      return ok({ invite_link: (await groupCall(env, auth, params.id, { op: "invite_link", id: params.group_id, reset: query.reset === "true" }, "invite_link")).invite_link });
    },
  });

  api.route({
    method: "post",
    path: `${base}/{group_id}/invite-link/reset`,
    summary: "Revoke the group's invite link and answer a new one",
    tags,
    auth: "account",
    params: GroupIdParams,
    responses: { 200: { description: "The new link (the old one no longer works)", schema: InviteLinkEnvelope }, ...ADMIN },
    async handler({ env, auth, params }) {
      return ok({ invite_link: (await groupCall(env, auth, params.id, { op: "invite_link", id: params.group_id, reset: true }, "invite_link")).invite_link });
    },
  });

  api.route({
    method: "get",
    path: `${base}/{group_id}/requests`,
    summary: "Pending requests to join the group",
    tags,
    auth: "account",
    params: GroupIdParams,
    responses: { 200: { description: "The requests", schema: RequestsEnvelope }, ...ADMIN },
    async handler({ env, auth, params }) {
      return ok({ requests: (await groupCall(env, auth, params.id, { op: "requests", id: params.group_id }, "requests")).requests });
    },
  });

  for (const action of ["approve", "reject"] as const) {
    participantsRoute(api, {
      path: `requests/${action}`,
      summary: `${action === "approve" ? "Approve" : "Reject"} requests to join`,
      description: "Each requester by phone number or by LID (`…@lid`).",
      body: ParticipantsBody,
      op: (id, names) => ({ op: "requests_update", id, action, participants: names }),
    });
  }

  api.route({
    method: "post",
    path: `${base}/{group_id}/leave`,
    summary: "Leave the group",
    tags,
    auth: "account",
    params: GroupIdParams,
    responses: { 200: { description: "Left", schema: LeftEnvelope }, ...COMMON },
    async handler({ env, auth, params }) {
      await groupCall(env, auth, params.id, { op: "leave", id: params.group_id }, "done");
      return ok({ message: "Left the group" });
    },
  });
}
