import type { ServerConnection } from "./connection";
import { onEmptyResult, onProps, onUsync } from "./account.handler";
import { onAppStateSync } from "./appstate.handler";
import { onBlocklistGet, onBlocklistSet } from "./blocklist.handler";
import { GROUP_ADMIN_IQS } from "./groups.admin.handler";
import { onGroupQuery } from "./groups.handler";
import { onApprovalMode, onInviteGet, onInviteSet, onRequestsAction, onRequestsList } from "./groups.invites.handler";
import type { LinkingHandler } from "./linking.handler";
import { onBusinessProfile, onProfilePictureGet } from "./profile.read.handler";
import { onMediaConn } from "./media.handler";
import { onPrivacyGet, onPrivacySet } from "./privacy.handler";
import { onAboutSet, onPictureSet, onStatusPrivacyGet } from "./profile.handler";
import { onDigest, onKeyFetch, onPrekeyCount, onPrekeyUpload, onRotate } from "./prekeys.handler";
import type { ServerCore } from "./server.core";
import { type BinaryNode, children, iqError } from "./stanzas";

export type IqHandler = (core: ServerCore, conn: ServerConnection, iq: BinaryNode) => void | Promise<void>;

/**
 * Which handler answers an iq, by `xmlns/type/first child tag` (docs/protocol/sandbox.md lists them;
 * the group iqs: docs/protocol/groups.md and groups-invites.md).
 * Linking's handlers hold state (pairing-code waiters), so they come from its instance.
 */
export function iqTable(linking: LinkingHandler): ReadonlyMap<string, IqHandler> {
  return new Map<string, IqHandler>([
    ["w:p/get/ping", onEmptyResult],
    ["passive/set/active", onEmptyResult],
    ["passive/set/passive", onEmptyResult],
    ["privacy/set/privacy", onPrivacySet],
    ["privacy/set/tokens", onEmptyResult],
    ["w:stats/set/add", onEmptyResult],
    ["w:stats//add", onEmptyResult],
    ["encrypt/get/count", onPrekeyCount],
    ["encrypt/set/registration", onPrekeyUpload],
    ["encrypt/set/list", onPrekeyUpload],
    ["encrypt/get/digest", onDigest],
    ["encrypt/set/rotate", onRotate],
    ["encrypt/get/key", onKeyFetch],
    ["abt/get/props", onProps],
    ["blocklist/get/", onBlocklistGet],
    ["blocklist/set/item", onBlocklistSet],
    ["privacy/get/privacy", onPrivacyGet],
    ["usync/get/usync", onUsync],
    ["w:sync:app:state/set/sync", onAppStateSync],
    ["md/set/remove-companion-device", (_core, conn, iq) => linking.onRemoveCompanion(conn, iq)],
    ["md/set/link_code_companion_reg", (_core, conn, iq) => linking.onLinkCode(conn, iq)],
    ["w:m/set/media_conn", onMediaConn],
    ["w:g2/get/query", onGroupQuery],
    ["w:g2/get/participating", onGroupQuery],
    ...GROUP_ADMIN_IQS,
    // After the group lines: a picture set without a group target is the account's own (profile.handler.ts).
    ["w:profile:picture/set/picture", onPictureSet],
    ["w:profile:picture/set/", onPictureSet],
    ["status/set/status", onAboutSet],
    ["status/get/privacy", onStatusPrivacyGet],
    // After the group lines: a picture get for a person (groups go on to their handler); business profiles.
    ["w:profile:picture/get/picture", onProfilePictureGet],
    ["w:biz/get/business_profile", onBusinessProfile],
    ["w:g2/get/invite", onInviteGet],
    ["w:g2/set/invite", onInviteSet],
    ["w:g2/set/membership_approval_mode", onApprovalMode],
    ["w:g2/get/membership_approval_requests", onRequestsList],
    ["w:g2/set/membership_requests_action", onRequestsAction],
  ]);
}

/**
 * Answers one iq from a logged-in or registering client. What the server does not implement is
 * refused, never answered with an empty success a client would take for done: no `xmlns`/`type` →
 * 400 bad-request (a code whatsmeow's errors.go lists for server iq errors); an unknown operation →
 * 501 feature-not-implemented, XMPP's stanza error for it (XEP-0086) — whatsmeow's list has no 501,
 * so the exact code WhatsApp uses here is unconfirmed. Baileys `assertNodeErrorFree` throws with the
 * code as `data`. Each is logged (`unknown_iq`).
 */
export function routeIq(core: ServerCore, table: ReadonlyMap<string, IqHandler>, conn: ServerConnection, iq: BinaryNode): void | Promise<void> {
  const { xmlns, type } = iq.attrs;
  const first = children(iq)[0]?.tag;
  const handler = table.get(`${xmlns}/${type}/${first ?? ""}`);
  if (handler) return handler(core, conn, iq);
  core.log("unknown_iq", { session: conn.sessionId, xmlns, type, first });
  if (!xmlns || (type !== "get" && type !== "set" && type !== undefined)) return conn.send(iqError(iq, 400, "bad-request"));
  conn.send(iqError(iq, 501, "feature-not-implemented"));
}
