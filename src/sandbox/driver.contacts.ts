import { Buffer } from "node:buffer";
import { phonePushesChatChange } from "./appstate.push";
import { blockedBy } from "./blocklist";
import { changeBlock } from "./blocklist.handler";
import { requirePhone } from "./driver.groups";
import type { PhoneProfilePatch } from "./driver.schemas";
import { SandboxError } from "./errors";
import { normalizePhone } from "./phones";
import { profileOf, putPicture, removePicture, setAbout, setBusiness } from "./profiles";
import type { ServerCore } from "./server.core";

// The driver's contact operations: what a simulated phone shows others (about text, picture,
// business profile), the names in its address book (which its privacy "my contacts" means and
// history sync shares), and its blocklist as the server holds it.

const isJpeg = (b: Buffer) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

export class ContactsDriver {
  constructor(private readonly core: ServerCore) {}

  setProfile(phoneNumber: string, patch: PhoneProfilePatch) {
    const p = requirePhone(this.core, phoneNumber);
    const store = this.core.store;
    if (patch.picture) {
      const jpeg = Buffer.from(patch.picture, "base64");
      if (!isJpeg(jpeg)) throw new SandboxError("picture: not a JPEG", 422);
      putPicture(store, p.phone, jpeg);
    } else if (patch.picture === null) removePicture(store, p.phone);
    if (patch.about !== undefined) setAbout(store, p.phone, patch.about);
    if (patch.business !== undefined) setBusiness(store, p.phone, patch.business);
    if (patch.business_description !== undefined) store.sql.run(`UPDATE phones SET business_description = ? WHERE phone = ?`, patch.business_description, p.phone);
    this.core.log("phone_profile_set", { phone: p.phone, fields: Object.keys(patch) });
    const profile = profileOf(store, p.phone)!;
    return { phone_number: p.phone, about: profile.about, business: profile.business, picture_id: profile.picture_id };
  }

  /**
   * Saves `contact` (any number, on WhatsApp or not) in the phone's address book under `name`. A
   * number on WhatsApp also goes to the phone's app state, as the phone app syncs its address book
   * (a `contact` mutation in critical_unblock_low, the shape Baileys addOrEditContact builds and
   * whatsmeow appstate.go reads): linked devices hear of it now, devices linked later at their first sync.
   */
  async saveContact(phoneNumber: string, contactNumber: string, name: string) {
    const p = requirePhone(this.core, phoneNumber);
    const contact = normalizePhone(contactNumber);
    const user = this.core.store.phone(contact);
    if (user && user.phone !== p.phone) {
      const contactAction = { fullName: name, firstName: name.split(/\s+/)[0], lidJid: `${user.lid}@lid`, saveOnPrimaryAddressbook: true };
      await phonePushesChatChange(this.core, p, `${user.phone}@s.whatsapp.net`, { contact: contactAction });
    }
    this.core.store.sql.run(`INSERT OR REPLACE INTO address_book (phone, contact, name) VALUES (?,?,?)`, p.phone, contact, name);
    return { phone_number: p.phone, contact, name };
  }

  /** The phone blocks or unblocks a number, as from its own app. */
  setBlocked(phoneNumber: string, contactNumber: string, block: boolean) {
    const p = requirePhone(this.core, phoneNumber);
    const other = this.core.store.phone(normalizePhone(contactNumber));
    if (!other || other.phone === p.phone) throw new SandboxError(`${contactNumber} is not on WhatsApp in this sandbox`, 404);
    changeBlock(this.core, p.phone, other, block);
    return this.blocklist(p.phone);
  }

  blocklist(phoneNumber: string) {
    const p = requirePhone(this.core, phoneNumber);
    return { phone_number: p.phone, blocked: blockedBy(this.core, p.phone).map((b) => ({ phone_number: b.phone, lid: `${b.lid}@lid` })) };
  }
}
