import type { ServerCore } from "./server.core";

// A phone's address book (address_book: numbers it saved, with names): who "my contacts" means in
// its privacy settings, and the names its history sync gives its chats.

export function inAddressBook(core: ServerCore, phone: string, contact: string): boolean {
  return savedName(core, phone, contact) !== undefined;
}

/** The name `phone` saved for `contact` (digits); undefined when it did not save it. */
export function savedName(core: ServerCore, phone: string, contact: string): string | undefined {
  return core.store.sql.one<{ name: string | null }>(`SELECT name FROM address_book WHERE phone = ? AND contact = ?`, phone, contact)?.name ?? undefined;
}
