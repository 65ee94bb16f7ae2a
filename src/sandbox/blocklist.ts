import { createHash } from "node:crypto";
import { inAddressBook } from "./address-book";
import { listOf, privacyOf } from "./privacy";
import type { ServerCore } from "./server.core";
import type { PhoneRow } from "./world.store";

// Who a phone blocked (blocklist table, numbers), and what a phone lets another see of its profile:
// its privacy value for the category (privacy.ts), its address book for "contacts", the category's
// "except" list for "contact_blacklist". A blocked person sees nothing (WhatsApp's help: "Contacts
// you block … won't see your last seen, online, about and profile photo updates").

export function blockedBy(core: ServerCore, phone: string): PhoneRow[] {
  return blockEntries(core, phone).map((e) => e.blocked);
}

/** Who `phone` blocked, in the order blocked, with when (ms). */
export function blockEntries(core: ServerCore, phone: string): { blocked: PhoneRow; at: number }[] {
  return core.store.sql
    .all<{ blocked: string; created_at: number }>(`SELECT blocked, created_at FROM blocklist WHERE phone = ? ORDER BY created_at, blocked`, phone)
    .flatMap((r) => {
      const blocked = core.store.phone(r.blocked);
      return blocked ? [{ blocked, at: r.created_at }] : [];
    });
}

export function isBlocked(core: ServerCore, phone: string, other: string): boolean {
  return !!core.store.sql.one(`SELECT 1 AS x FROM blocklist WHERE phone = ? AND blocked = ?`, phone, other);
}

/** Whether the list changed. */
export function setBlocked(core: ServerCore, phone: string, other: string, block: boolean): boolean {
  if (isBlocked(core, phone, other) === block) return false;
  if (block) core.store.sql.run(`INSERT INTO blocklist (phone, blocked, created_at) VALUES (?,?,?)`, phone, other, Date.now());
  else core.store.sql.run(`DELETE FROM blocklist WHERE phone = ? AND blocked = ?`, phone, other);
  return true;
}

/**
 * The list's hash (`dhash`), which clients keep to notice a stale list. WhatsApp's exact hash is not
 * public (whatsmeow only stores it); ours: the first 8 bytes of SHA-256 over the sorted LIDs, base64 (a guess at the form).
 */
export function blocklistHash(lids: string[]): string {
  return createHash("sha256").update([...lids].sort().join(",")).digest().subarray(0, 8).toString("base64");
}

/** Whether `viewer` may see `owner`'s `category` ("profile": picture, "status": about text). */
export function mayView(core: ServerCore, owner: string, viewer: string, category: "profile" | "status"): boolean {
  if (owner === viewer) return true;
  if (isBlocked(core, owner, viewer)) return false;
  const value = privacyOf(core, owner)[category];
  if (value === "all") return true;
  if (value === "none") return false;
  if (!inAddressBook(core, owner, viewer)) return false;
  return value === "contacts" || !listOf(core, owner, category).includes(viewer);
}
