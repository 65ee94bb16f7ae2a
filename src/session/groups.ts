import type { WASocket } from "baileys";
import { log } from "../platform/log";
import { changeGroup, deleteGroup, updateParticipants } from "./groups.admin";
import { createGroup } from "./groups.create";
import { asChange, metadata } from "./groups.calls";
import { failureOf, GroupRefusal } from "./groups.errors";
import { inviteInfo, inviteLink, joinByCode, joinRequests, settleRequests } from "./groups.invites";
import type { GroupAnswer, GroupContext, GroupOp, GroupValue } from "./groups.types";
import { groupDetail, groupView, meOf } from "./groups.view";

// A session's group operations over Baileys' socket (Socket/groups.js). Each one answers a
// value: the result, or a refusal the API turns into its error (403 not an admin, 404 unknown
// group or not a member, 409 full, 429 rate-limited, 502 anything else WhatsApp said, with its code).

export async function runGroupOp(ctx: GroupContext, op: GroupOp): Promise<GroupAnswer> {
  try {
    return { ok: true, value: await dispatch(ctx, op) };
  } catch (err) {
    if (!(err instanceof GroupRefusal)) log.warn({ op: op.op, err: err instanceof Error ? err.message : String(err) }, "group operation failed at WhatsApp");
    return { ok: false, failure: failureOf(err) };
  }
}

function dispatch(ctx: GroupContext, op: GroupOp): Promise<GroupValue> {
  const { socket } = ctx;
  switch (op.op) {
    case "list":
      return listGroups(socket);
    case "get":
      return metadata(socket, op.id).then((meta) => ({ kind: "group", group: groupDetail(meta, meOf(socket)) }));
    case "create":
      return createGroup(socket, op);
    case "update":
      return changeGroup(ctx, op.id, op.changes);
    case "participants":
      return updateParticipants(socket, op.id, op.action, op.participants);
    case "invite_link":
      return inviteLink(socket, op.id, op.reset);
    case "invite_info":
      return inviteInfo(socket, op.code);
    case "join":
      return joinByCode(socket, op.code);
    case "requests":
      return joinRequests(socket, op.id);
    case "requests_update":
      return settleRequests(socket, op.id, op.action, op.participants);
    case "leave":
      return asChange(socket, op.id, () => socket.groupLeave(op.id)).then(() => ({ kind: "done" }));
    case "delete":
      return deleteGroup(socket, op.id);
  }
}

async function listGroups(socket: WASocket): Promise<GroupValue> {
  const me = meOf(socket);
  const all = Object.values(await socket.groupFetchAllParticipating());
  return { kind: "groups", groups: all.map((meta) => groupView(meta, me)) };
}
