import { createHash } from "node:crypto";
import { LISTED_FIELDS, PRIVACY_FIELDS, PRIVACY_FIELD_NAMES, type PrivacyField } from "../domain/privacy-settings";
import { phoneAppStateView } from "./appstate.view";
import { requirePhone } from "./driver.groups";
import { iso } from "./driver.present";
import type { PhonePrivacyPatch } from "./driver.schemas";
import { normalizePhone } from "./phones";
import { type PrivacyCategory, listOf, notifyPrivacy, privacyOf, setPrivacy, setStoriesPrivacy, storiesPrivacyOf } from "./privacy";
import { pictureOf, profileOf } from "./profiles";
import type { ServerCore } from "./server.core";

// The driver's view of a phone's own profile and privacy as the server holds them (what its
// linked sessions set through their iqs), and the phone changing its privacy in its app: stored,
// and its linked devices told as WhatsApp tells them (privacy.ts notifyPrivacy).

const categoryOf = (field: PrivacyField) => PRIVACY_FIELDS[field].category as PrivacyCategory;

export class PrivacyDriver {
  constructor(private readonly core: ServerCore) {}

  /** `name`: the push name its devices last set through app state (the phone decrypting them), else the one it was created with. */
  async profile(phoneNumber: string) {
    const p = requirePhone(this.core, phoneNumber);
    const profile = profileOf(this.core.store, p.phone)!;
    const pushName = (await phoneAppStateView(this.core, p)).push_name;
    const picture = pictureOf(this.core.store, p.phone);
    const wire = privacyOf(this.core, p.phone);
    const stories = storiesPrivacyOf(this.core, p.phone);
    return {
      phone_number: p.phone,
      name: pushName ?? profile.name,
      about: profile.about,
      about_set_at: iso(profile.about_at),
      business: profile.business,
      picture_id: profile.picture_id,
      picture: picture
        ? { id: picture.picture_id, size: picture.data.length, sha256: createHash("sha256").update(picture.data).digest("hex"), set_at: iso(picture.updated_at)! }
        : null,
      privacy: Object.fromEntries(PRIVACY_FIELD_NAMES.map((f) => [f, wire[categoryOf(f)]])) as Record<PrivacyField, string>,
      except: Object.fromEntries(LISTED_FIELDS.map((f) => [f, listOf(this.core, p.phone, categoryOf(f))])) as Record<(typeof LISTED_FIELDS)[number], string[]>,
      status_privacy: { type: stories.type, contacts: stories.members },
    };
  }

  /** The phone changes its privacy in its app; its linked devices get the account_sync notification. */
  async setPrivacy(phoneNumber: string, patch: PhonePrivacyPatch) {
    const p = requirePhone(this.core, phoneNumber);
    const changed: { name: string; value: string }[] = [];
    for (const field of PRIVACY_FIELD_NAMES) {
      const value = patch[field];
      const except = (patch.except as Partial<Record<PrivacyField, string[]>> | undefined)?.[field]?.map(normalizePhone);
      if (value === undefined && except === undefined) continue;
      const category = categoryOf(field);
      const now = value ?? privacyOf(this.core, p.phone)[category];
      setPrivacy(this.core, p.phone, category, now, except);
      changed.push({ name: category, value: now });
    }
    if (patch.status_privacy) setStoriesPrivacy(this.core, p.phone, patch.status_privacy.type, patch.status_privacy.contacts?.map(normalizePhone));
    this.core.log("phone_privacy_set", { phone: p.phone, changed: changed.map((c) => `${c.name}=${c.value}`).join(","), stories: patch.status_privacy?.type ?? null });
    notifyPrivacy(this.core, p.phone, changed);
    return this.profile(p.phone);
  }
}
