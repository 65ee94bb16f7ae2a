import type { PrivacyField, PrivacySettings, StatusPrivacyType } from "../domain/privacy-settings";

// The session's own profile and privacy: what the API asks (ops) and the answers, in the API's terms.

export interface ProfileChanges {
  name?: string;
  /** "" clears the about text. */
  about?: string;
  /** A JPEG to fetch and set; null removes the picture. */
  picture_url?: string | null;
}

export type ProfileOp =
  | { area: "profile"; op: "get" }
  | { area: "profile"; op: "update"; changes: ProfileChanges }
  | { area: "profile"; op: "privacy" }
  | { area: "profile"; op: "set_privacy"; changes: Partial<PrivacySettings> }
  | { area: "profile"; op: "status_privacy" };

export interface ProfileView {
  name: string | null;
  about: string | null;
  picture_url: string | null;
  phone_number: string | null;
}

/** Each setting as WhatsApp holds it; null when its answer leaves one out. */
export type PrivacyView = { [F in PrivacyField]: PrivacySettings[F] | null };

export interface StatusPrivacyView {
  type: StatusPrivacyType;
  contacts: string[];
}

/**
 * A change of several fields, each its own WhatsApp request: either all were made (the state after),
 * or one failed and `applied` lists the fields made before it.
 */
export type Changed<T> = { done: true; value: T } | { done: false; applied: string[]; failure: ChangeFailure };

/** people.types.ts PeopleFailure, spelled out here (that file imports this one). */
export interface ChangeFailure {
  status: 400 | 403 | 404 | 409 | 422 | 429 | 502;
  code: string;
  message: string;
  whatsapp?: { code: number; text: string };
}
