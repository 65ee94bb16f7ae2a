import { inAddressBook } from "./address-book";
import { listOf, privacyOf } from "./privacy";
import type { ServerCore } from "./server.core";

// Who may see an account's online state and last seen: its `last` and `online` privacy categories
// (privacy.ts; values as WhatsApp's privacy iq has them: last = all, contacts, contact_blacklist,
// none; online = all, match_last_seen). "Contacts" are the owner's address book.

export function canSeeLastSeen(core: ServerCore, owner: string, viewer: string): boolean {
  switch (privacyOf(core, owner).last) {
    case "none":
      return false;
    case "contacts":
      return inAddressBook(core, owner, viewer);
    case "contact_blacklist":
      return inAddressBook(core, owner, viewer) && !listOf(core, owner, "last").includes(viewer);
    default:
      return true;
  }
}

/** "Who can see when I'm online": everyone, or the same people as last seen. */
export function canSeeOnline(core: ServerCore, owner: string, viewer: string): boolean {
  return privacyOf(core, owner).online === "match_last_seen" ? canSeeLastSeen(core, owner, viewer) : true;
}
