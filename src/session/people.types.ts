import type { WASocket } from "baileys";
import type { ChatOp } from "./chats.types";
import type { ContactOp } from "./contacts.types";
import type { LidOp } from "./lids.types";
import type { PresenceOp } from "./presence.types";
import type { ProfileOp } from "./profile.types";
import type { SessionConfig } from "./session.types";

// What the API asks a session object about people and chats (one RPC, `people(op)`), by area.
// Each area's ops and values live in its own `*.types.ts`; answers are plain JSON in the API's
// field names, so nothing of Baileys crosses the RPC.

export type PeopleOp = ContactOp | ChatOp | PresenceOp | ProfileOp | LidOp;

export interface PeopleContext {
  env: Env;
  socket: WASocket;
  config: SessionConfig;
  /** The object's SQLite (tables: session.schema.ts). */
  sql: SqlStorage;
}

export interface PeopleFailure {
  status: 400 | 403 | 404 | 409 | 422 | 429 | 502;
  code: string;
  message: string;
  /** WhatsApp's own error, when it refused. */
  whatsapp?: { code: number; text: string };
}

export type PeopleAnswer = { ok: true; value: unknown } | { ok: false; failure: PeopleFailure };
