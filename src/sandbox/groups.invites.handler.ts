import type { ServerConnection } from "./connection";
import { groupNode } from "./groups";
import { answerRequests, groupOfCode, inviteCode, joinByCode, requestsNode, setJoinApproval } from "./groups.invites";
import { GroupOpError } from "./groups.ops";
import type { ServerCore } from "./server.core";
import { type BinaryNode, child, children, iqError, iqResult, node } from "./stanzas";

// The w:g2 iqs of invite links and join requests (Baileys Socket/groups.js; whatsmeow group.go).
// `<invite>` means four things by type and address: get/set to a group = the link / a new link;
// get/set to `@g.us` with a code = the group it opens / join it. Shapes: docs/protocol/groups-invites.md.

const isGroupServer = (to: string | undefined) => to === "@g.us" || to === "g.us";
/** The group an iq is addressed to ("" when none: no group has it, 404). */
const groupOf = (iq: BinaryNode): string => iq.attrs.to ?? "";

/** Runs one operation for the logged-in account; a refusal becomes the iq error the server sends. */
function answer(conn: ServerConnection, iq: BinaryNode, fn: (phone: string) => BinaryNode[] | undefined): void {
  const phone = conn.account?.phone;
  if (!phone) return conn.send(iqError(iq, 401, "not-authorized"));
  try {
    conn.send(iqResult(iq, fn(phone)));
  } catch (err) {
    if (err instanceof GroupOpError) return conn.send(iqError(iq, err.code, err.text));
    throw err;
  }
}

/** get `<invite/>` to a group: its code; get `<invite code/>` to `@g.us`: the `<group>` it opens (Baileys groupGetInviteInfo). */
export function onInviteGet(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  answer(conn, iq, (phone) => {
    if (!isGroupServer(iq.attrs.to)) return [node("invite", { code: inviteCode(core, phone, groupOf(iq), false) })];
    const g = groupOfCode(core, child(iq, "invite")?.attrs.code ?? "");
    return [groupNode(g, core.groups.members(g.jid), core.phoneRow)];
  });
}

/**
 * set `<invite/>` to a group: revoke, answer the new code; set `<invite code/>` to `@g.us`: join,
 * answered `<group jid>` (Baileys groupAcceptInvite) or, awaiting approval,
 * `<membership_approval_request jid>` (whatsmeow JoinGroupWithLink).
 */
export function onInviteSet(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  answer(conn, iq, (phone) => {
    if (!isGroupServer(iq.attrs.to)) return [node("invite", { code: inviteCode(core, phone, groupOf(iq), true) })];
    const joined = joinByCode(core, phone, child(iq, "invite")?.attrs.code ?? "");
    return [node(joined.status === "joined" ? "group" : "membership_approval_request", { jid: joined.group.jid })];
  });
}

/** `<membership_approval_mode><group_join state="on|off"/>` (Baileys groupJoinApprovalMode). */
export function onApprovalMode(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  const state = child(child(iq, "membership_approval_mode"), "group_join")?.attrs.state;
  if (state !== "on" && state !== "off") return conn.send(iqError(iq, 400, "bad-request"));
  answer(conn, iq, (phone) => {
    setJoinApproval(core, phone, groupOf(iq), state === "on");
    return undefined;
  });
}

/** get `<membership_approval_requests/>`: who waits (Baileys groupRequestParticipantsList). */
export function onRequestsList(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  answer(conn, iq, (phone) => [requestsNode(core, phone, groupOf(iq))]);
}

/**
 * set `<membership_requests_action><approve|reject><participant jid/>…`: answered in the same shape,
 * each `<participant jid>` with `error` when it failed (Baileys groupRequestParticipantsUpdate reads `error`).
 */
export function onRequestsAction(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  const actionNode = children(child(iq, "membership_requests_action"))[0];
  const action = actionNode?.tag;
  if (action !== "approve" && action !== "reject") return conn.send(iqError(iq, 400, "bad-request"));
  // Each jid once (results are keyed by phone), answered under the jid the client used (PN or LID).
  const asked = [...new Set(children(actionNode, "participant").map((p) => p.attrs.jid ?? ""))];
  answer(conn, iq, (phone) => {
    const known = asked.map((jid) => ({ jid, phone: core.resolveUser(jid)?.phone }));
    const outcomes = answerRequests(core, phone, groupOf(iq), action, known.flatMap((k) => (k.phone ? [k.phone] : [])));
    const byPhone = new Map(outcomes.map((o) => [o.phone, o.status]));
    const results = known.map(({ jid, phone: p }) => {
      const status = p ? byPhone.get(p) ?? 404 : 404;
      return node("participant", { jid, error: status === 200 ? undefined : String(status) });
    });
    return [node("membership_requests_action", {}, [node(action, {}, results)])];
  });
}
