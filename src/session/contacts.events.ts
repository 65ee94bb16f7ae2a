import type { BaileysEventMap, Contact, WASocket } from "baileys";
import { database } from "../db/client";
import { type ContactFacts, contactKeyOf, forgetContactsBefore, upsertContacts } from "../db/contacts.repo";
import { now } from "../domain/time";
import { lidOf, phoneOf } from "./groups.view";
import { lidLookup, nameOf } from "./jid-numbers";
import type { SessionConfig } from "./session.types";

// What Baileys learns about people, stored in D1's contacts table: names saved in the phone's
// address book (app state `contact` mutations → contacts.upsert), history sync's chats and push
// names, push names and verified business names on incoming messages (contacts.update).
// One D1 batch per event flush, and none when every fact was already stored: each incoming
// message repeats its sender's push name, and the receive path must not pay a D1 trip for it.

// What this isolate last wrote per session and contact key (a fingerprint of the facts). Lost on
// eviction (the next fact is written again: harmless, writes merge); cleared when it grows large.
const written = new Map<string, string>();
const MAX_REMEMBERED = 20_000;

const memoKey = (sessionId: string, contactKey: string) => `${sessionId}|${contactKey}`;
const fingerprint = (f: ContactFacts) => JSON.stringify([f.phoneNumber, f.lid, f.name ?? null, f.pushName ?? null, f.verifiedName ?? null]);

/** A route wrote this contact itself: the next fact about it from WhatsApp must be written again. */
export function forgetWrittenContact(sessionId: string, contactKey: string): void {
  written.delete(memoKey(sessionId, contactKey));
}

export async function onContactEvents(parts: { env: Env }, config: SessionConfig, events: Partial<BaileysEventMap>, socket: WASocket): Promise<void> {
  // A new pairing may be another WhatsApp account (after a logout): the old one's people go; the
  // new one's come with its history sync and app state.
  if (events["connection.update"]?.isNewLogin) {
    for (const key of written.keys()) if (key.startsWith(memoKey(config.id, ""))) written.delete(key);
    await forgetContactsBefore(database(parts.env), config.id, now());
  }
  const seen: Partial<Contact>[] = [...(events["contacts.upsert"] ?? []), ...(events["contacts.update"] ?? []), ...(events["messaging-history.set"]?.contacts ?? [])];
  if (seen.length === 0) return;
  const lookup = lidLookup(socket);
  // The account itself is not one of its contacts (history sync's push names include it).
  const own = new Set([phoneOf(socket.user?.id), lidOf(socket.user?.lid)].filter(Boolean));
  const fresh = new Map<string, string>();
  const facts: ContactFacts[] = [];
  for (const c of seen) {
    const fact = await factsOf(c, lookup);
    if (!fact || own.has(fact.phoneNumber) || own.has(fact.lid)) continue;
    const key = memoKey(config.id, contactKeyOf(fact)!);
    const print = fingerprint(fact);
    if (written.get(key) === print) continue;
    facts.push(fact);
    fresh.set(key, print);
  }
  await upsertContacts(database(parts.env), config.id, facts);
  if (written.size + fresh.size > MAX_REMEMBERED) written.clear();
  for (const [key, print] of fresh) written.set(key, print);
}

/** One person (not a group, broadcast or newsletter: those are chats) by number and/or LID. */
async function factsOf(c: Partial<Contact>, lookup: ReturnType<typeof lidLookup>): Promise<ContactFacts | null> {
  const ids = [c.id, c.phoneNumber, c.lid].filter((j): j is string => typeof j === "string" && (phoneOf(j) !== null || lidOf(j) !== null) && /@(s\.whatsapp\.net|lid)$/.test(j));
  if (ids.length === 0) return null;
  const who = await nameOf(lookup, ...ids);
  // A person with no name yet is still one the session has a chat with (history sync's chats).
  return { phoneNumber: who.number, lid: who.lid, name: c.name || null, pushName: c.notify || null, verifiedName: c.verifiedName || null };
}
