import { Buffer } from "node:buffer";
import { mayView } from "./blocklist";
import type { ServerConnection } from "./connection";
import { onPicture as groupPicture } from "./groups.admin.handler";
import { isGroupJid } from "./groups";
import { accountSync, listOf, storiesPrivacyOf } from "./privacy";
import { putPicture, removePicture, setAbout } from "./profiles";
import type { ServerCore } from "./server.core";
import { type BinaryNode, bytesOf, child, iqError, iqResult, node, pnJid, serverId, textOf, unixNow } from "./stanzas";

// The account's own profile iqs: about text (xmlns `status`), who sees its status updates
// (`status` get `<privacy/>`), its own picture (`w:profile:picture` set without a target).
// Sources: Baileys Socket/chats.js updateProfileStatus / updateProfilePicture / removeProfilePicture,
// whatsmeow user.go SetStatusMessage, broadcast.go GetStatusPrivacy, notification.go
// handlePictureNotification / handleAccountSyncNotification. docs/protocol/privacy.md.

type Handler = (core: ServerCore, conn: ServerConnection, iq: BinaryNode) => void;

/** WhatsApp's about text limit (the apps stop at 139 characters). */
const ABOUT_MAX = 139;
const PICTURE_MAX = 1024 * 1024;

/** Runs `body` as the logged-in account (its phone and this device); its node is the answer. */
const asAccount = (body: (core: ServerCore, phone: string, device: number, iq: BinaryNode) => BinaryNode): Handler => (core, conn, iq) => {
  const account = conn.account;
  if (!account) return conn.send(iqError(iq, 401, "not-authorized"));
  conn.send(body(core, account.phone, account.device, iq));
};

/** `<iq xmlns="status" type="set"><status>text</status>` sets the about text (empty clears it). */
export const onAboutSet: Handler = asAccount((core, phone, device, iq) => {
  const text = textOf(child(iq, "status")) ?? "";
  if ([...text].length > ABOUT_MAX) return iqError(iq, 406, "not-acceptable");
  setAbout(core.store, phone, text);
  core.log("about_set", { phone, length: text.length });
  // The account's other devices hear it as whatsmeow handleStatusNotification reads it (guess: who else WhatsApp tells is not known).
  for (const c of core.store.activeCompanions(phone)) {
    if (c.device === device) continue;
    core.deliver(phone, c.device, node("notification", { from: pnJid(phone), type: "status", id: serverId(), t: String(unixNow()) }, [node("set", {}, Buffer.from(text, "utf8"))]));
  }
  return iqResult(iq);
});

/**
 * `<iq xmlns="status" type="get"><privacy/>` → `<privacy><list type default="true"><user jid/>…</list>…`
 * (whatsmeow GetStatusPrivacy: the default list first; other stored lists may follow).
 */
export const onStatusPrivacyGet: Handler = asAccount((core, phone, _device, iq) => {
  const current = storiesPrivacyOf(core, phone);
  const users = (members: string[]) => members.map((m) => node("user", { jid: pnJid(m) }));
  const lists = [node("list", { type: current.type, default: "true" }, users(current.members))];
  for (const type of ["whitelist", "blacklist"] as const) {
    const kept = listOf(core, phone, `stories_${type}`);
    if (type !== current.type && kept.length) lists.push(node("list", { type }, users(kept)));
  }
  return iqResult(iq, [node("privacy", {}, lists)]);
});

/**
 * `<iq xmlns="w:profile:picture" type="set">` with no target (or the account's own jid):
 * `<picture type="image">jpeg</picture>` sets the account's picture → `<picture id/>`; no
 * `<picture>` (Baileys) or an empty one (whatsapp-rust) removes it. A group target is the
 * group's picture (groups.admin.handler.ts).
 */
export const onPictureSet: Handler = (core, conn, iq) => {
  const target = iq.attrs.target;
  const own = conn.account && (!target || core.resolveUser(target)?.phone === conn.account.phone);
  if (!own || isGroupJid(target)) return groupPicture(core, conn, iq);
  asAccount((c, phone, device) => {
    const jpeg = bytesOf(child(iq, "picture"));
    let id: string | null = null;
    if (jpeg?.length) {
      if (jpeg.length < 3 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8 || jpeg[2] !== 0xff || jpeg.length > PICTURE_MAX) return iqError(iq, 406, "not-acceptable");
      id = putPicture(c.store, phone, jpeg);
    } else if (!removePicture(c.store, phone)) return iqResult(iq);
    c.log("own_picture", { phone, id });
    notifyOwnPicture(c, phone, id, device);
    return iqResult(iq, id ? [node("picture", { id })] : undefined);
  })(core, conn, iq);
};

/**
 * The account's other devices get `account_sync <picture/>` (whatsmeow: own picture changed); the
 * devices of phones that have chatted with it or saved its number get `<notification type="picture"
 * from=jid><set jid id author/>` or `<delete jid/>` (Baileys contacts.update imgUrl; whatsmeow
 * events.Picture) — only those its picture privacy lets see the picture (a guess at who WhatsApp tells).
 */
function notifyOwnPicture(core: ServerCore, phone: string, id: string | null, device: number): void {
  accountSync(core, phone, () => node("picture", {}), device);
  const jid = pnJid(phone);
  const change = () => (id ? node("set", { jid, id, author: jid }) : node("delete", { jid }));
  const peers = core.store.sql.all<{ peer: string }>(
    `SELECT peer FROM messages WHERE owner = ? UNION SELECT owner FROM messages WHERE peer = ? UNION SELECT phone FROM address_book WHERE contact = ?`,
    phone, phone, phone,
  );
  for (const { peer } of peers) {
    if (peer === phone || !core.store.phone(peer) || !mayView(core, phone, peer, "profile")) continue;
    for (const c of core.store.activeCompanions(peer)) {
      core.deliver(peer, c.device, node("notification", { from: jid, type: "picture", id: serverId(), t: String(unixNow()) }, [change()]));
    }
  }
}
