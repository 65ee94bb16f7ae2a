import { Buffer } from "node:buffer";
import type { ServerConnection } from "./connection";
import { groupNode, isGroupJid } from "./groups";
import {
  type GroupSetting, type MemberAddMode, type ParticipantAction, type ParticipantResult, GroupOpError,
  acceptAddInvite, changeParticipants, createGroup, leaveGroup, participantNode, revokeAddInvites, setDescription, setMemberAddMode, setPicture, setSetting, setSubject,
} from "./groups.ops";
import type { ServerCore } from "./server.core";
import { type BinaryNode, bytesOf, child, children, iqError, iqResult, node, parseJid, pnJid, textOf } from "./stanzas";

// The w:g2 `set` iqs of a group's members and admins, as Baileys Socket/groups.js and whatsmeow
// group.go send them; the work is in groups.ops.ts, shared with the driver. Shapes: docs/protocol/groups.md.

type Handler = (core: ServerCore, conn: ServerConnection, iq: BinaryNode) => void;

/** Runs `body` as the logged-in account's phone; a GroupOpError becomes the iq's `<error>`. */
const asMember = (body: (core: ServerCore, phone: string, iq: BinaryNode) => BinaryNode | undefined): Handler =>
  (core, conn, iq) => {
    const phone = conn.account?.phone;
    if (!phone) return conn.send(iqError(iq, 401, "not-authorized"));
    try {
      conn.send(body(core, phone, iq) ?? iqResult(iq));
    } catch (err) {
      if (!(err instanceof GroupOpError)) throw err;
      core.log("group_iq_refused", { session: conn.sessionId, op: children(iq)[0]?.tag, code: err.code });
      conn.send(iqError(iq, err.code, err.text));
    }
  };

/** A participant jid (phone or LID) as a phone number; an unknown LID stays its user part (then 404). */
const phoneOf = (core: ServerCore, jid: string | undefined): string => core.resolveUser(jid ?? "")?.phone ?? parseJid(jid)?.user ?? String(jid ?? "");

/** Per-participant outcome as the server reports it: `error` when not 200, with the add_request of a privacy refusal. */
function resultNode(core: ServerCore, jid: string, r: ParticipantResult): BinaryNode {
  // A member asked by LID comes back by LID with its number beside it, as metadata names it (lids.ts).
  if (r.status === 200 && parseJid(jid)?.server === "lid") return node("participant", { jid, phone_number: pnJid(r.phone) });
  if (r.status === 200) return participantNode(core, r.phone, { jid });
  const addRequest = r.addRequest && [node("add_request", { code: r.addRequest.code, expiration: String(r.addRequest.expiration) })];
  return node("participant", { jid, error: String(r.status) }, addRequest);
}

/** The jid the client named a phone by (results answer in the client's terms). */
const jidAsked = (wanted: { jid: string; phone: string }[], phone: string) => wanted.find((w) => w.phone === phone)?.jid ?? phone;

const requested = (core: ServerCore, op: BinaryNode) => children(op, "participant").map((p) => ({ jid: p.attrs.jid, phone: phoneOf(core, p.attrs.jid) }));

/** `<create subject key><participant jid/>…[<description>] [settings]</create>` to @g.us → the new `<group>`. */
const onCreate = asMember((core, phone, iq) => {
  const op = child(iq, "create")!;
  const owner = core.phoneRow(phone)!;
  const wanted = requested(core, op);
  const mode = textOf(child(op, "member_add_mode"));
  const { group, results } = createGroup(core, owner, op.attrs.subject ?? "", wanted.map((w) => w.phone), textOf(child(child(op, "description"), "body")), {
    key: op.attrs.key,
    settings: {
      announce: child(op, "announcement") ? 1 : undefined,
      locked: child(op, "locked") ? 1 : undefined,
      join_approval: child(child(op, "membership_approval_mode"), "group_join")?.attrs.state === "on" ? 1 : undefined,
      member_add_mode: mode === "all_member_add" || mode === "admin_add" ? mode : undefined,
    },
  });
  // Participants that could not be added are listed with their error (whatsmeow GroupParticipant.Error: "when creating groups").
  const failed = results.filter((r) => r.status !== 200).map((r) => resultNode(core, jidAsked(wanted, r.phone), r));
  return iqResult(iq, [groupNode(group, core.groups.members(group.jid), core.phoneRow, failed)]);
});

const onParticipants = asMember((core, phone, iq) => {
  const op = children(iq)[0];
  const wanted = requested(core, op);
  const results = changeParticipants(core, phone, iq.attrs.to, op.tag as ParticipantAction, wanted.map((w) => w.phone));
  return iqResult(iq, [node(op.tag, {}, results.map((r) => resultNode(core, jidAsked(wanted, r.phone), r)))]);
});

const onSubject = asMember((core, phone, iq) => void setSubject(core, phone, iq.attrs.to, textOf(child(iq, "subject")) ?? ""));

/** `<description id prev [delete="true"]><body>…</body></description>`. */
const onDescription = asMember((core, phone, iq) => {
  const op = child(iq, "description")!;
  const text = op.attrs.delete === "true" ? null : (textOf(child(op, "body")) ?? null);
  setDescription(core, phone, iq.attrs.to, text, { id: op.attrs.id, prev: op.attrs.prev ?? "" });
  return undefined;
});

const onSetting = asMember((core, phone, iq) => void setSetting(core, phone, iq.attrs.to, children(iq)[0].tag as GroupSetting));

const onMemberAddMode = asMember((core, phone, iq) => void setMemberAddMode(core, phone, iq.attrs.to, textOf(child(iq, "member_add_mode")) as MemberAddMode));

const groupJid = (id: string) => (id.includes("@") ? id : `${id}@g.us`);

/** `<leave><group id/>…</leave>` to @g.us: one group refused is the iq's error; of several, each says its own. */
const onLeave = asMember((core, phone, iq) => {
  const ids = children(child(iq, "leave"), "group").map((g) => g.attrs.id ?? "");
  if (!ids.length) throw new GroupOpError(400, "bad-request");
  if (ids.length === 1) leaveGroup(core, phone, groupJid(ids[0]));
  const left = ids.map((id) => {
    if (ids.length === 1) return node("group", { id });
    try {
      leaveGroup(core, phone, groupJid(id));
      return node("group", { id });
    } catch (err) {
      if (err instanceof GroupOpError) return node("group", { id, error: String(err.code) });
      throw err;
    }
  });
  return iqResult(iq, [node("leave", {}, left)]);
});

/** `<accept code expiration admin>` to the group: the invite a refused add left (Baileys groupAcceptInviteV4). */
const onAccept = asMember((core, phone, iq) => {
  const op = child(iq, "accept")!;
  acceptAddInvite(core, phone, iq.attrs.to, op.attrs.code ?? "", op.attrs.admin ? phoneOf(core, op.attrs.admin) : undefined);
  return undefined;
});

/** `<revoke><participant jid/>…</revoke>` to the group: the admin withdraws add invites (Baileys groupRevokeInviteV4). */
const onRevokeAddInvite = asMember((core, phone, iq) => {
  revokeAddInvites(core, phone, iq.attrs.to, requested(core, child(iq, "revoke")!).map((w) => w.phone));
  return undefined;
});

/**
 * `<iq xmlns="w:profile:picture" type="set" target=group><picture type="image">jpeg</picture>` sets the
 * group's picture, without `<picture>` removes it (Baileys updateProfilePicture / removeProfilePicture,
 * whatsmeow SetGroupPhoto) → `<picture id/>`. The account's own picture: profile.handler.ts; another user's: 501.
 */
export const onPicture: Handler = (core, conn, iq) => {
  if (!isGroupJid(iq.attrs.target)) return conn.send(iqError(iq, 501, "feature-not-implemented"));
  return asMember((c, phone) => {
    const id = setPicture(c, phone, iq.attrs.target, bytesOf(child(iq, "picture")) ?? null);
    return iqResult(iq, id ? [node("picture", { id })] : undefined);
  })(core, conn, iq);
};

/**
 * `<iq xmlns="w:profile:picture" type="get" target=jid><picture type query="url"/>` (Baileys
 * profilePictureUrl reads `<picture url>`; whatsmeow GetProfilePictureInfo `url id type direct_path`,
 * 404 → ErrProfilePictureNotSet). A group's picture is served by the sandbox's media host (a fresh
 * direct path per ask); no picture, or anyone else's (phones have none here): 404 item-not-found.
 */
export const onPictureGet: Handler = (core, conn, iq) => {
  const target = iq.attrs.target ?? "";
  const picture = isGroupJid(target) ? core.groups.picture(target) : undefined;
  if (!picture) return conn.send(iqError(iq, 404, "item-not-found"));
  // One stored copy per picture: later asks get a fresh path to it, not another copy.
  const key = `group_picture_blob:${picture.picture_id}`;
  const stored = core.store.getMeta(key)?.toString();
  let directPath = stored ? core.media.reissue(stored, "image") : undefined;
  if (!directPath) {
    const put = core.media.put(Buffer.from(picture.data), "image", `group:${target}`);
    core.store.setMeta(key, Buffer.from(put.id));
    directPath = put.directPath;
  }
  const type = child(iq, "picture")?.attrs.type === "image" ? "image" : "preview";
  conn.send(iqResult(iq, [node("picture", { id: picture.picture_id, type, url: `https://${core.mediaHost(conn)}${directPath}`, direct_path: directPath })]));
};

/** The iq table's lines for these (iq.router.ts). */
export const GROUP_ADMIN_IQS: readonly (readonly [string, Handler])[] = [
  ["w:g2/set/create", onCreate],
  ["w:g2/set/add", onParticipants],
  ["w:g2/set/remove", onParticipants],
  ["w:g2/set/promote", onParticipants],
  ["w:g2/set/demote", onParticipants],
  ["w:g2/set/subject", onSubject],
  ["w:g2/set/description", onDescription],
  ["w:g2/set/announcement", onSetting],
  ["w:g2/set/not_announcement", onSetting],
  ["w:g2/set/locked", onSetting],
  ["w:g2/set/unlocked", onSetting],
  ["w:g2/set/member_add_mode", onMemberAddMode],
  ["w:g2/set/leave", onLeave],
  ["w:g2/set/accept", onAccept],
  ["w:g2/set/revoke", onRevokeAddInvite],
  ["w:profile:picture/set/picture", onPicture],
  ["w:profile:picture/get/picture", onPictureGet],
  ["w:profile:picture/set/", onPicture],
];
