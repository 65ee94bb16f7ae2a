// The contacts slice's operations (API → session object) and the values they answer, in the
// API's field names. Numbers are digits (normalized by the API); LIDs are "<user>@lid".

export type ContactOp =
  | { area: "contacts"; op: "check"; phones: string[] }
  | { area: "contacts"; op: "get"; phone: string }
  | { area: "contacts"; op: "save"; phone: string; name: string }
  | { area: "contacts"; op: "block"; phone: string; block: boolean }
  | { area: "contacts"; op: "blocklist" };

export interface CheckedNumber {
  phone_number: string;
  on_whatsapp: boolean;
  /** The number's jid (`<digits>@s.whatsapp.net`) when it is on WhatsApp. */
  jid: string | null;
  lid: string | null;
}

export interface ContactProfile {
  phone_number: string;
  lid: string | null;
  on_whatsapp: true;
  name: string | null;
  push_name: string | null;
  about: string | null;
  about_set_at: string | null;
  picture_url: string | null;
  business: boolean;
  business_description: string | null;
}

export interface SavedContact {
  phone_number: string;
  lid: string | null;
  name: string;
}

export interface BlockedUser {
  phone_number: string | null;
  lid: string | null;
}

export interface BlockChange extends BlockedUser {
  blocked: boolean;
}
