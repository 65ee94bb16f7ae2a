import type { ServerConnection } from "./connection";
import { LISTED_CATEGORIES, type PrivacyCategory, allows, editList, isCategory, notifyPrivacy, privacyOf, setPrivacy } from "./privacy";
import type { ServerCore } from "./server.core";
import { type BinaryNode, child, children, iqError, iqResult, node, parseJid } from "./stanzas";

// The account's privacy settings iqs (Baileys Socket/chats.js fetchPrivacySettings / privacyQuery,
// whatsmeow privacysettings.go, whatsapp-rust wacore/src/iq/privacy.rs from WA Web's
// WAWebQueryPrivacySettingsJob / WAWebSetPrivacyJob). Shapes: docs/protocol/privacy.md.

/** `<iq xmlns="privacy" type="get"><privacy/>` → `<privacy><category name value/>…</privacy>`. */
export function onPrivacyGet(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  const phone = conn.account?.phone;
  if (!phone) return conn.send(iqError(iq, 401, "not-authorized"));
  const settings = privacyOf(core, phone);
  conn.send(iqResult(iq, [node("privacy", {}, Object.entries(settings).map(([name, value]) => node("category", { name, value })))]));
}

/**
 * `<iq xmlns="privacy" type="set"><privacy><category name value>[<user action jid/>…]</category>`:
 * each category stored (with its "except" list edits, the `<user action="add|remove">` children WA
 * Web sends for `contact_blacklist`), answered with the categories as stored (WA Web's
 * setPrivacyParser reads `name value`), and the account's other devices told. A category or value
 * WhatsApp does not have: 400 bad-request, nothing stored (the code is a guess).
 */
export function onPrivacySet(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  const phone = conn.account?.phone;
  if (!phone) return conn.send(iqError(iq, 401, "not-authorized"));
  const categories = children(child(iq, "privacy"), "category");
  const valid = categories.length > 0 && categories.every(({ attrs }) => isCategory(attrs.name ?? "") && allows(attrs.name as PrivacyCategory, attrs.value ?? ""));
  if (!valid) {
    core.log("privacy_refused", { session: conn.sessionId, categories: categories.map((c) => `${c.attrs.name}=${c.attrs.value}`).join(",") });
    return conn.send(iqError(iq, 400, "bad-request"));
  }
  const changed = categories.map((c) => {
    const name = c.attrs.name as PrivacyCategory;
    setPrivacy(core, phone, name, c.attrs.value!);
    if (LISTED_CATEGORIES.includes(name)) {
      const users = children(c, "user");
      const member = (u: BinaryNode) => memberOf(core, u.attrs.pn_jid ?? u.attrs.jid);
      editList(core, phone, name, users.filter((u) => u.attrs.action !== "remove").map(member), users.filter((u) => u.attrs.action === "remove").map(member));
    }
    return { name, value: c.attrs.value! };
  });
  core.log("privacy_set", { phone, changed: changed.map((c) => `${c.name}=${c.value}`).join(",") });
  conn.send(iqResult(iq, [node("privacy", {}, changed.map((c) => node("category", c)))]));
  notifyPrivacy(core, phone, changed, conn.account?.device);
}

/** A listed user (PN or LID jid) as a phone number; an unknown one as its user part. */
const memberOf = (core: ServerCore, jid: string | undefined): string => core.resolveUser(jid ?? "")?.phone ?? parseJid(jid)?.user ?? String(jid ?? "");
