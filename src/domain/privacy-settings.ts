// WhatsApp's privacy categories under the API's names, each with the wire name the privacy iq
// uses and the values it takes (whatsmeow types/user.go PrivacySettingType, whatsapp-rust
// wacore/src/iq/privacy.rs from WA Web's WAWebPrivacySettings, Baileys Types/Chat.d.ts).
// Shared by the gateway (routes, session) and the sandbox (server and driver).

const AUDIENCE = ["all", "contacts", "contact_blacklist", "none"] as const;

export const PRIVACY_FIELDS = {
  last_seen: { category: "last", values: AUDIENCE },
  online: { category: "online", values: ["all", "match_last_seen"] },
  profile_picture: { category: "profile", values: AUDIENCE },
  /** The about text (WhatsApp calls its category `status`, not to be confused with status updates). */
  about: { category: "status", values: AUDIENCE },
  read_receipts: { category: "readreceipts", values: ["all", "none"] },
  groups_add: { category: "groupadd", values: AUDIENCE },
  calls: { category: "calladd", values: ["all", "known"] },
  messages: { category: "messages", values: ["all", "contacts"] },
} as const;

export type PrivacyField = keyof typeof PRIVACY_FIELDS;
export type PrivacyValueOf<F extends PrivacyField> = (typeof PRIVACY_FIELDS)[F]["values"][number];
export type PrivacySettings = { [F in PrivacyField]: PrivacyValueOf<F> };

export const PRIVACY_FIELD_NAMES = Object.keys(PRIVACY_FIELDS) as PrivacyField[];
/** The fields whose `contact_blacklist` ("my contacts except…") has a list of the people excepted. */
export const LISTED_FIELDS = ["last_seen", "profile_picture", "about", "groups_add"] as const satisfies readonly PrivacyField[];

/** The API field a wire category is shown under; undefined for categories the API does not show. */
export function fieldOfCategory(category: string): PrivacyField | undefined {
  return PRIVACY_FIELD_NAMES.find((f) => PRIVACY_FIELDS[f].category === category);
}

/** Who sees status updates (stories): all contacts, only those listed, all contacts but those listed. */
export const STATUS_PRIVACY_TYPES = ["contacts", "whitelist", "blacklist"] as const;
export type StatusPrivacyType = (typeof STATUS_PRIVACY_TYPES)[number];
