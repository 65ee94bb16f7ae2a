// Presence: the session's chat states (typing, recording, paused) in a chat, its own online state,
// and subscriptions to a user's presence (presence.ts).

export type ChatState = "typing" | "recording" | "paused";
export type OwnPresence = "available" | "unavailable";

export type PresenceOp =
  | { area: "presence"; op: "chatstate"; chat: string; state: ChatState }
  | { area: "presence"; op: "set"; state: OwnPresence }
  | { area: "presence"; op: "subscribe"; chat: string }
  | { area: "presence"; op: "get"; chat: string };

/** What a presence operation answers: the chat (jid) when it had one, and the state sent. */
export type PresenceSent = {
  chat_id: string | null;
  state: ChatState | OwnPresence | "subscribed";
};

/** The last presence heard in a chat (presence.memory.ts), per person. */
export type ChatPresence = {
  chat_id: string;
  presences: { phone_number: string | null; lid: string | null; state: string; last_seen: string | null; at: string }[];
};
