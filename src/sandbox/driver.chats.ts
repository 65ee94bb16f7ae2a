import type { ChatModification } from "baileys";
import { phonePushesChatChange } from "./appstate.push";
import { phoneAppStateView } from "./appstate.view";
import { requirePhone } from "./driver.groups";
import { iso } from "./driver.present";
import type { PhoneChatActionInput } from "./driver.schemas";
import type { ServerCore } from "./server.core";
import type { z } from "zod";

// What a simulated phone knows and does about its chats' settings (the driver API,
// src/api/sandbox-chats.routes.ts): its view of the account's app state (appstate.view.ts), and
// archiving, pinning, muting, clearing or marking a chat read on the phone (appstate.push.ts).

export class ChatsDriver {
  constructor(private readonly core: ServerCore) {}

  async view(phoneNumber: string) {
    const p = requirePhone(this.core, phoneNumber);
    const v = await phoneAppStateView(this.core, p);
    return {
      phone_number: p.phone,
      push_name: v.push_name,
      chats: [...v.chats.values()].map((c) => ({
        chat: c.chat,
        archived: !!c.archived,
        pinned: !!c.pinned,
        muted: c.mute_end != null && (c.mute_end < 0 || c.mute_end > Date.now()),
        muted_until: c.mute_end != null && c.mute_end > Date.now() ? iso(c.mute_end) : null,
        cleared_at: iso(c.cleared_at),
        read: c.read ?? null,
        deleted_at: iso(c.deleted_at),
      })),
      contacts: [...v.contacts.entries()].map(([jid, n]) => ({ jid, ...n })),
      versions: Object.fromEntries([...v.collections.entries()].map(([name, s]) => [name, s.version])),
      problems: v.problems,
    };
  }

  async act(phoneNumber: string, input: z.output<typeof PhoneChatActionInput>) {
    const p = requirePhone(this.core, phoneNumber);
    const jid = input.chat.includes("@") ? input.chat : `${input.chat.replace(/^\+/, "")}@s.whatsapp.net`;
    // The range the action covers: everything up to now (the phone names its last message; a guess).
    const upToNow = { lastMessageTimestamp: Math.floor(Date.now() / 1000) };
    const mods: Record<typeof input.action, ChatModification> = {
      archive: { archive: true, lastMessages: upToNow },
      unarchive: { archive: false, lastMessages: upToNow },
      pin: { pin: true },
      unpin: { pin: false },
      mute: { mute: input.until ? Date.parse(input.until) : -1 },
      unmute: { mute: null },
      clear: { clear: true, lastMessages: upToNow },
      read: { markRead: true, lastMessages: upToNow },
      unread: { markRead: false, lastMessages: upToNow },
    };
    // Archiving a pinned chat unpins it, as the phone app does (whatsmeow BuildArchive adds the unpin).
    const unpin = input.action === "archive" && (await phoneAppStateView(this.core, p)).chats.get(jid)?.pinned === true;
    const pushed = await phonePushesChatChange(this.core, p, jid, mods[input.action]);
    return unpin ? phonePushesChatChange(this.core, p, jid, { pin: false }) : pushed;
  }
}
