import { requirePhone } from "./driver.groups";
import { iso } from "./driver.present";
import { SandboxError } from "./errors";
import { type AccountPresence, type ChatState, type PresenceHandler } from "./presence.handler";
import type { ServerCore } from "./server.core";
import { parseJid } from "./stanzas";

// What a simulated phone does about presence on command (the driver API,
// src/api/sandbox-presence.routes.ts): goes online or offline, types in a chat, and what chat
// states the linked sessions sent it. Through the same handler as the sessions' own stanzas.

export class PresenceDriver {
  constructor(private readonly core: ServerCore, private readonly presence: PresenceHandler) {}

  view(phoneNumber: string) {
    const p = requirePhone(this.core, phoneNumber);
    const { state, last_seen } = this.presence.presenceOf(p.phone);
    return { phone_number: p.phone, state, last_seen: iso(last_seen == null ? null : last_seen * 1000) };
  }

  set(phoneNumber: string, state: AccountPresence) {
    const p = requirePhone(this.core, phoneNumber);
    this.presence.phoneSays(p.phone, state);
    return this.view(p.phone);
  }

  /** `to`: a phone number, a LID or a group the phone is in. */
  chatState(phoneNumber: string, to: string, state: ChatState) {
    const p = requirePhone(this.core, phoneNumber);
    const jid = to.includes("@") ? to : `${to.replace(/^\+/, "")}@s.whatsapp.net`;
    if (parseJid(jid)?.server === "g.us") {
      if (!this.core.groups.group(jid)) throw new SandboxError(`no group ${jid}`, 404);
      if (!this.core.groups.members(jid).some((m) => m.phone === p.phone)) throw new SandboxError(`${p.phone} is not a member of ${jid}`, 409);
    } else {
      const peer = this.core.resolveUser(jid);
      if (!peer) throw new SandboxError(`${to} is not on WhatsApp in this sandbox`, 404);
      if (peer.phone === p.phone) throw new SandboxError("a phone has no chat with itself to type in", 422);
    }
    return { phone_number: p.phone, to: jid, state, devices: this.presence.chatState(p, jid, state) };
  }

  seen(phoneNumber: string) {
    const p = requirePhone(this.core, phoneNumber);
    return this.presence.seenBy(p.phone).map((s) => ({ ...s, at: iso(s.at * 1000)! }));
  }
}
