import type { PresenceUpdateEventData } from "../domain/webhook-events";

// The last presence heard per chat and person, kept in the object's memory only: presence is as
// short-lived as the socket that hears it (subscriptions end with it), so nothing is stored.
// A chat is found by its `chat_id` and, for a contact known by LID, by the LID too.

export interface KnownPresence {
  phone_number: string | null;
  lid: string | null;
  state: PresenceUpdateEventData["state"];
  last_seen: string | null;
  at: string;
}

/** Chats remembered per session; the oldest heard is forgotten first. */
const MAX_CHATS = 1000;
const bySession = new Map<string, Map<string, Map<string, KnownPresence>>>();

export function rememberPresence(sessionId: string, data: PresenceUpdateEventData): void {
  let chats = bySession.get(sessionId);
  if (!chats) bySession.set(sessionId, (chats = new Map()));
  const known: KnownPresence = { phone_number: data.phone_number, lid: data.lid ?? null, state: data.state, last_seen: data.last_seen, at: new Date().toISOString() };
  // By LID first: a person heard by LID alone and later with the number stays one entry.
  const person = data.lid ?? data.phone_number ?? "";
  const keys = [data.chat_id, ...(data.lid && !data.chat_id.endsWith("@g.us") ? [data.lid] : [])];
  for (const key of new Set(keys)) {
    const people = chats.get(key) ?? new Map<string, KnownPresence>();
    // Most recent last: re-inserted so the map's order is the order heard.
    chats.delete(key);
    people.delete(person);
    people.set(person, known);
    chats.set(key, people);
  }
  while (chats.size > MAX_CHATS) chats.delete(chats.keys().next().value!);
}

/** What is known of a chat's people, most recently heard last; empty when nothing was heard. */
export function knownPresence(sessionId: string, chat: string): KnownPresence[] {
  return [...(bySession.get(sessionId)?.get(chat)?.values() ?? [])];
}
