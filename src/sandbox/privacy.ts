import { LISTED_FIELDS, PRIVACY_FIELDS, PRIVACY_FIELD_NAMES, type PrivacyField, type StatusPrivacyType } from "../domain/privacy-settings";
import type { ServerCore } from "./server.core";
import { type BinaryNode, node, pnJid, serverId, unixNow } from "./stanzas";

// A phone's privacy settings as the server holds them: one value per category (privacy_settings)
// and the "except" lists of `contact_blacklist` values and of status (stories) sharing
// (privacy_lists, members stored as phone numbers). Categories and their values:
// domain/privacy-settings.ts. docs/protocol/privacy.md.

/** Wire category → the values it takes. */
export const PRIVACY_VALUES = Object.fromEntries(PRIVACY_FIELD_NAMES.map((f) => [PRIVACY_FIELDS[f].category, PRIVACY_FIELDS[f].values])) as {
  [F in PrivacyField as (typeof PRIVACY_FIELDS)[F]["category"]]: (typeof PRIVACY_FIELDS)[F]["values"];
};

export type PrivacyCategory = keyof typeof PRIVACY_VALUES;
const PRIVACY_CATEGORIES = Object.keys(PRIVACY_VALUES) as PrivacyCategory[];
/** The categories whose `contact_blacklist` value has an "except" list. */
export const LISTED_CATEGORIES: readonly PrivacyCategory[] = LISTED_FIELDS.map((f) => PRIVACY_FIELDS[f].category);

/** Who sees the phone's status updates (stories): whatsmeow types.StatusPrivacyType. */
export type StoriesType = StatusPrivacyType;

export const isCategory = (name: string): name is PrivacyCategory => Object.hasOwn(PRIVACY_VALUES, name);
export const allows = (category: PrivacyCategory, value: string): boolean => (PRIVACY_VALUES[category] as readonly string[]).includes(value);

/**
 * A setting never changed is `all` (a guess at a new account's defaults, shared with the presence
 * rules in presence.privacy.ts). Who can add to groups lives in phones.group_add_privacy (the
 * group rules read it), which knows no `contact_blacklist`: that value is kept here and the
 * column holds `contacts`, the nearest the group rules understand.
 */
export function privacyOf(core: ServerCore, phone: string): Record<PrivacyCategory, string> {
  const out = Object.fromEntries(PRIVACY_CATEGORIES.map((c) => [c, "all"])) as Record<PrivacyCategory, string>;
  for (const r of core.store.sql.all<{ category: string; value: string }>(`SELECT category, value FROM privacy_settings WHERE phone = ?`, phone)) {
    if (isCategory(r.category)) out[r.category] = r.value;
  }
  const column = core.groups.addPrivacy(phone);
  out.groupadd = out.groupadd === "contact_blacklist" && column === "contacts" ? "contact_blacklist" : column;
  return out;
}

/** Stores one category's value (checked by the caller); `except` replaces its list when given. */
export function setPrivacy(core: ServerCore, phone: string, category: PrivacyCategory, value: string, except?: string[]): void {
  core.store.sql.run(`INSERT OR REPLACE INTO privacy_settings (phone, category, value) VALUES (?,?,?)`, phone, category, value);
  if (category === "groupadd") core.groups.setAddPrivacy(phone, value === "contact_blacklist" ? "contacts" : (value as "all" | "contacts" | "none"));
  if (except) replaceList(core, phone, category, except);
}

/** Adds and removes members of a category's "except" list (the iq's `<user action jid>` children). */
export function editList(core: ServerCore, phone: string, category: string, add: string[], remove: string[]): void {
  for (const m of remove) core.store.sql.run(`DELETE FROM privacy_lists WHERE phone = ? AND category = ? AND member = ?`, phone, category, m);
  for (const m of add) core.store.sql.run(`INSERT OR IGNORE INTO privacy_lists (phone, category, member) VALUES (?,?,?)`, phone, category, m);
}

export function listOf(core: ServerCore, phone: string, category: string): string[] {
  return core.store.sql.all<{ member: string }>(`SELECT member FROM privacy_lists WHERE phone = ? AND category = ? ORDER BY member`, phone, category).map((r) => r.member);
}

function replaceList(core: ServerCore, phone: string, category: string, members: string[]): void {
  core.store.sql.run(`DELETE FROM privacy_lists WHERE phone = ? AND category = ?`, phone, category);
  editList(core, phone, category, members, []);
}

// Status (stories) sharing: the chosen type under category `stories`; WhatsApp keeps both lists
// ("only share with…" and "my contacts except…"), so switching back restores the old one.
const storiesList = (type: "whitelist" | "blacklist") => `stories_${type}`;

export function storiesPrivacyOf(core: ServerCore, phone: string): { type: StoriesType; members: string[] } {
  const type = (core.store.sql.one<{ value: string }>(`SELECT value FROM privacy_settings WHERE phone = ? AND category = 'stories'`, phone)?.value ?? "contacts") as StoriesType;
  return { type, members: type === "contacts" ? [] : listOf(core, phone, storiesList(type)) };
}

export function setStoriesPrivacy(core: ServerCore, phone: string, type: StoriesType, members?: string[]): void {
  core.store.sql.run(`INSERT OR REPLACE INTO privacy_settings (phone, category, value) VALUES (?,?,?)`, phone, "stories", type);
  if (members && type !== "contacts") replaceList(core, phone, storiesList(type), members);
}

/**
 * Tells the phone's linked devices (all but `exceptDevice`, the one that made the change) that
 * settings changed: `<notification type="account_sync" from=own><privacy><category name value/>`
 * (whatsmeow notification.go handleAccountSyncNotification → handlePrivacySettingsNotification;
 * Baileys acks it and does nothing more).
 */
export function notifyPrivacy(core: ServerCore, phone: string, changed: { name: string; value: string }[], exceptDevice?: number): void {
  if (!changed.length) return;
  accountSync(core, phone, () => node("privacy", {}, changed.map((c) => node("category", { name: c.name, value: c.value }))), exceptDevice);
}

/** An `account_sync` notification (one child) to the phone's own linked devices. */
export function accountSync(core: ServerCore, phone: string, body: () => BinaryNode, exceptDevice?: number): void {
  for (const c of core.store.activeCompanions(phone)) {
    if (c.device === exceptDevice) continue;
    core.deliver(phone, c.device, node("notification", { from: pnJid(phone), type: "account_sync", id: serverId(), t: String(unixNow()) }, [body()]));
  }
}
