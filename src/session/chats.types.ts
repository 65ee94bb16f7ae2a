// The chats area's operations (session RPC `people`). Chats are addressed as WhatsApp does
// (`<digits>@s.whatsapp.net`, `…@g.us`, `…@lid`). Times are unix milliseconds.

/** A received message to mark: its WhatsApp id, and in a group who sent it. */
export interface ReadTarget {
  id: string;
  participant?: string;
}

export type ChatOp =
  | { area: "chats"; op: "archive"; chat: string; archived: boolean }
  | { area: "chats"; op: "pin"; chat: string; pinned: boolean }
  /** `until`: when the mute ends; null = forever. `muted: false` unmutes. */
  | { area: "chats"; op: "mute"; chat: string; muted: boolean; until: number | null }
  | { area: "chats"; op: "clear"; chat: string }
  | { area: "chats"; op: "read"; chat: string; messages: ReadTarget[]; status: "read" | "played" };

/** What a chat op answers: when WhatsApp took it (ISO). */
export interface ChatOpDone {
  at: string;
}
