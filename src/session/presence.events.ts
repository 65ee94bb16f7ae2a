import type { BaileysEventMap, PresenceData, WASocket } from "baileys";
import type { PresenceUpdateEventData } from "../domain/webhook-events";
import { emitEvent } from "../events/emit";
import { lidLookup, nameOf } from "./jid-numbers";
import { rememberPresence } from "./presence.memory";
import type { SessionConfig } from "./session.types";

// Baileys' `presence.update` (chats.js handlePresenceUpdate: one per `<presence>` or
// `<chatstate>` stanza; never buffered) becomes a `presence.update` webhook event per person.
// Presence is ephemeral: each event is emitted once with a fresh id (emitEvent's delivery rows are
// its record); nothing is journaled, and a stanza missed while the session was away is gone, as in
// WhatsApp.

type State = PresenceUpdateEventData["state"];


/**
 * Baileys reports a `<chatstate><paused/>` as `available`, and a `<presence>` as `available` too;
 * only the latter carries `lastSeen` and `groupOnlineCount` keys (even when undefined), which is
 * how the two are told apart here.
 */
function stateOf(p: PresenceData): State | null {
  const fromPresenceStanza = "lastSeen" in p || "groupOnlineCount" in p;
  switch (p.lastKnownPresence) {
    case "available":
      return fromPresenceStanza ? "available" : "paused";
    case "unavailable":
      return "unavailable";
    case "composing":
      return "typing";
    case "recording":
      return "recording";
    case "paused":
      return "paused";
    default:
      return null;
  }
}

export async function onPresenceEvents(parts: { env: Env }, config: SessionConfig, events: Partial<BaileysEventMap>, socket: WASocket): Promise<void> {
  const update = events["presence.update"];
  if (!update) return;
  const lookup = lidLookup(socket);
  const isGroup = update.id.endsWith("@g.us");
  for (const [participant, presence] of Object.entries(update.presences)) {
    const state = stateOf(presence);
    // A group's own entry (its online count) names no one.
    if (!state || participant.endsWith("@g.us")) continue;
    const who = await nameOf(lookup, participant);
    const chatId = isGroup ? update.id : who.number ? `${who.number}@s.whatsapp.net` : (who.lid ?? update.id);
    const data: PresenceUpdateEventData = {
      session_id: config.id,
      chat_id: chatId,
      phone_number: who.number,
      ...(who.lid ? { lid: who.lid } : {}),
      state,
      last_seen: presence.lastSeen ? new Date(presence.lastSeen * 1000).toISOString() : null,
    };
    rememberPresence(config.id, data);
    // One D1 read of the webhooks per event even when none wants it: a cache here could not learn
    // of a webhook created in another isolate, and a subscriber must get every event after it exists.
    await emitEvent(parts.env, { accountId: config.accountId, sessionId: config.id, type: "presence.update", data });
  }
}
