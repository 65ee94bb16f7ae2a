import { Buffer } from "node:buffer";
import { mayView } from "./blocklist";
import type { ServerConnection } from "./connection";
import { onPictureGet as onGroupPictureGet } from "./groups.admin.handler";
import { pictureOf, profileOf } from "./profiles";
import type { ServerCore } from "./server.core";
import { isGroupJid } from "./groups";
import { type BinaryNode, child, children, iqError, iqResult, node } from "./stanzas";

// Reading other people's profiles: their picture (w:profile:picture get) and business profile
// (w:biz business_profile). The about text comes through usync's status protocol (account.handler.ts
// onUsync, using `aboutFor`). What a viewer may see follows the owner's privacy (blocklist.ts mayView).

/**
 * `<iq xmlns="w:profile:picture" type="get" target=jid><picture type="image|preview" query="url"/>`
 * → `<picture id type url direct_path/>` (Baileys profilePictureUrl reads `url`; whatsmeow
 * GetProfilePictureInfo reads url, id, type, direct_path). No picture: 404 item-not-found
 * (whatsmeow ErrProfilePictureNotSet); hidden by privacy or a block: 401 not-authorized
 * (ErrProfilePictureUnauthorized). Groups: their own handler. The preview is the same image here
 * (WhatsApp serves a smaller one).
 */
export function onProfilePictureGet(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  const target = iq.attrs.target ?? "";
  if (isGroupJid(target)) return onGroupPictureGet(core, conn, iq);
  const owner = core.resolveUser(target);
  if (!owner || !conn.account) return conn.send(iqError(iq, 404, "item-not-found"));
  if (!mayView(core, owner.phone, conn.account.phone, "profile")) return conn.send(iqError(iq, 401, "not-authorized"));
  const picture = pictureOf(core.store, owner.phone);
  if (!picture) return conn.send(iqError(iq, 404, "item-not-found"));
  // One stored copy per picture: later asks get a fresh path to it.
  const key = `phone_picture_blob:${picture.picture_id}`;
  const stored = core.store.getMeta(key)?.toString();
  let directPath = stored ? core.media.reissue(stored, "image") : undefined;
  if (!directPath) {
    const put = core.media.put(Buffer.from(picture.data), "image", `picture:${owner.phone}`);
    core.store.setMeta(key, Buffer.from(put.id));
    directPath = put.directPath;
  }
  const type = child(iq, "picture")?.attrs.type === "image" ? "image" : "preview";
  conn.send(iqResult(iq, [node("picture", { id: picture.picture_id, type, url: `https://${core.mediaHost(conn)}${directPath}`, direct_path: directPath })]));
}

/**
 * `<iq xmlns="w:biz" type="get"><business_profile v="244"><profile jid/>…` → one `<profile jid>`
 * (with `<description>`) per business asked (Baileys getBusinessProfile, whatsmeow
 * GetBusinessProfile). Someone not a business gets no `<profile>` (a guess: Baileys then answers undefined).
 */
export function onBusinessProfile(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  const profiles = children(child(iq, "business_profile"), "profile").flatMap((p) => {
    const phone = core.resolveUser(p.attrs.jid ?? "");
    const profile = phone ? profileOf(core.store, phone.phone) : undefined;
    if (!phone || !profile?.business) return [];
    const description = core.store.sql.one<{ d: string | null }>(`SELECT business_description AS d FROM phones WHERE phone = ?`, phone.phone)?.d ?? "";
    return [node("profile", { jid: p.attrs.jid }, [node("description", {}, Buffer.from(description))])];
  });
  conn.send(iqResult(iq, [node("business_profile", { v: "244" }, profiles)]));
}

/** The usync `status` protocol's answer for `owner` asked by `viewer`: the about text, or 401 when hidden. */
export function aboutFor(core: ServerCore, owner: string, viewer: string | undefined): BinaryNode {
  const profile = profileOf(core.store, owner);
  if (!viewer || !mayView(core, owner, viewer, "status")) return node("status", { code: "401" });
  if (!profile?.about) return node("status", {});
  return node("status", { t: String(Math.floor((profile.about_at ?? 0) / 1000)) }, Buffer.from(profile.about));
}
