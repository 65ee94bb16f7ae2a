import { PeopleRefusal } from "./people.errors";
import type { PeopleContext } from "./people.types";
import { knownPresence } from "./presence.memory";
import type { ChatPresence, ChatState, PresenceOp, PresenceSent } from "./presence.types";

// The session's presence on WhatsApp (Baileys chats.js sendPresenceUpdate / presenceSubscribe):
// a chat state is a `<chatstate to>` stanza, the session's own presence a `<presence type name>`,
// a subscription `<presence type=subscribe to>` (with the trusted-contact token when it has one).
// None is answered by the server, so "sent" is all that can be said.

/** Baileys' names: recording is `composing` with `media="audio"` on the wire. */
const BAILEYS_STATE: Record<ChatState, "composing" | "recording" | "paused"> = { typing: "composing", recording: "recording", paused: "paused" };

export async function runPresenceOp(ctx: PeopleContext, op: PresenceOp): Promise<PresenceSent | ChatPresence> {
  switch (op.op) {
    case "chatstate":
      await ctx.socket.sendPresenceUpdate(BAILEYS_STATE[op.state], op.chat);
      return { chat_id: op.chat, state: op.state };
    case "set":
      // Baileys drops the update silently without a push name (WhatsApp wants one on the stanza).
      if (!ctx.socket.authState.creds.me?.name) throw new PeopleRefusal(409, "no_push_name", "The session has no profile name yet, which WhatsApp needs to show its presence; set one first.");
      await ctx.socket.sendPresenceUpdate(op.state);
      return { chat_id: null, state: op.state };
    case "subscribe":
      await ctx.socket.presenceSubscribe(op.chat);
      return { chat_id: op.chat, state: "subscribed" };
    case "get":
      return { chat_id: op.chat, presences: knownPresence(ctx.config.id, op.chat) };
  }
}
