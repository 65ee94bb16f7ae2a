import type { BaileysEventMap, WASocket } from "baileys";
import { log } from "../platform/log";
import { onChatEvents } from "./chats.events";
import { onContactEvents } from "./contacts.events";
import { onLidEvents } from "./lids.events";
import { onPresenceEvents } from "./presence.events";
import { onProfileEvents } from "./profile.events";
import type { SessionConfig } from "./session.types";

// Baileys' events about people and chats (contacts, chats, presence, blocklist), handed to each
// area's handler. Each runs on its own: one failing must not keep the others from their events.

export interface PeopleEventParts {
  env: Env;
  sql: SqlStorage;
  config: () => SessionConfig | null;
}

type Handler = (parts: PeopleEventParts, config: SessionConfig, events: Partial<BaileysEventMap>, socket: WASocket) => Promise<void>;

/** Each area adds its handler here (contacts, chats, presence, lids). */
const HANDLERS: [string, Handler][] = [
  ["contacts", onContactEvents],
  ["chats", onChatEvents],
  ["presence", onPresenceEvents],
  ["lids", onLidEvents],
  ["profile", onProfileEvents],
];

export class PeopleEvents {
  constructor(private readonly p: PeopleEventParts) {}

  async onEvents(events: Partial<BaileysEventMap>, socket: WASocket): Promise<void> {
    const config = this.p.config();
    if (!config) return;
    for (const [area, handle] of HANDLERS) {
      try {
        await handle(this.p, config, events, socket);
      } catch (err) {
        log.error({ session: config.id, area, err }, "people event step failed");
      }
    }
  }
}
