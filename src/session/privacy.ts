import { S_WHATSAPP_NET, getBinaryNodeChild, getBinaryNodeChildren, type WASocket } from "baileys";
import { PRIVACY_FIELD_NAMES, PRIVACY_FIELDS, STATUS_PRIVACY_TYPES, type PrivacySettings, type StatusPrivacyType } from "../domain/privacy-settings";
import { lidLookup, nameOf } from "./jid-numbers";
import { peopleFailureOf } from "./people.errors";
import type { Changed, PrivacyView, StatusPrivacyView } from "./profile.types";

// The session's privacy settings: read fresh from WhatsApp each time (Baileys fetchPrivacySettings
// with force: its cache misses changes made on the phone), each change its own privacy iq
// (Baileys update*Privacy), and who sees status updates (iq xmlns `status` get `<privacy/>`,
// as whatsmeow GetStatusPrivacy asks; Baileys has no call for it).

export async function readPrivacy(socket: WASocket): Promise<PrivacyView> {
  const wire = (await socket.fetchPrivacySettings(true)) as Record<string, string | undefined>;
  const out = {} as Record<string, string | null>;
  for (const field of PRIVACY_FIELD_NAMES) {
    const value = wire[PRIVACY_FIELDS[field].category];
    out[field] = value !== undefined && (PRIVACY_FIELDS[field].values as readonly string[]).includes(value) ? value : null;
  }
  return out as PrivacyView;
}

const SETTERS: { [F in keyof PrivacySettings]: (socket: WASocket, value: PrivacySettings[F]) => Promise<void> } = {
  last_seen: (s, v) => s.updateLastSeenPrivacy(v),
  online: (s, v) => s.updateOnlinePrivacy(v),
  profile_picture: (s, v) => s.updateProfilePicturePrivacy(v),
  about: (s, v) => s.updateStatusPrivacy(v),
  read_receipts: (s, v) => s.updateReadReceiptsPrivacy(v),
  // Baileys' type leaves out `none`, which whatsmeow and WA Web list; the iq is the same.
  groups_add: (s, v) => s.updateGroupsAddPrivacy(v as Parameters<WASocket["updateGroupsAddPrivacy"]>[0]),
  calls: (s, v) => s.updateCallPrivacy(v),
  messages: (s, v) => s.updateMessagesPrivacy(v),
};

/** Each field its own iq, in the fields' listed order; a failure part-way says which were applied. */
export async function setPrivacy(socket: WASocket, changes: Partial<PrivacySettings>): Promise<Changed<{ privacy: PrivacyView }>> {
  const applied: string[] = [];
  for (const field of PRIVACY_FIELD_NAMES) {
    const value = changes[field];
    if (value === undefined) continue;
    try {
      await (SETTERS[field] as (s: WASocket, v: string) => Promise<void>)(socket, value);
    } catch (err) {
      return { done: false, applied, failure: peopleFailureOf(err) };
    }
    applied.push(field);
  }
  return { done: true, value: { privacy: await readPrivacy(socket) } };
}

/** The default list (whatsmeow: the one marked `default`, else the first); none stored: all contacts. */
export async function readStatusPrivacy(socket: WASocket): Promise<StatusPrivacyView> {
  let result;
  try {
    result = await socket.query({ tag: "iq", attrs: { xmlns: "status", to: S_WHATSAPP_NET, type: "get" }, content: [{ tag: "privacy", attrs: {} }] });
  } catch (err) {
    // whatsmeow: 404 means nothing was ever set.
    if (Number((err as { data?: unknown }).data) === 404) return { type: "contacts", contacts: [] };
    throw err;
  }
  const lists = getBinaryNodeChildren(getBinaryNodeChild(result, "privacy"), "list");
  const chosen = lists.find((l) => l.attrs.default === "true") ?? lists[0];
  const type = chosen?.attrs.type as StatusPrivacyType | undefined;
  if (!chosen || !type || !STATUS_PRIVACY_TYPES.includes(type)) return { type: "contacts", contacts: [] };
  const lookup = lidLookup(socket);
  const numbers = await Promise.all(getBinaryNodeChildren(chosen, "user").map(async (u) => (await nameOf(lookup, u.attrs.jid)).number));
  return { type, contacts: type === "contacts" ? [] : numbers.filter((n): n is string => n !== null) };
}
