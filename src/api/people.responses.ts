import type { ResponseSpec } from "./route";
import { ErrorEnvelope } from "./schemas";

// The error answers the people-and-chats routes share: the session lookup, and what WhatsApp may say
// when a route asks it (people.call.ts).

export const errorSpec = (description: string): ResponseSpec => ({ description, schema: ErrorEnvelope });

export const SESSION_NOT_FOUND = { 404: errorSpec("Unknown session (or another account's).") };

/** A route that asks WhatsApp through the session's object. */
export const WHATSAPP_ERRORS = {
  ...SESSION_NOT_FOUND,
  409: errorSpec("The session is not connected (`session_not_connected`)."),
  429: errorSpec("WhatsApp is limiting this account's requests (`rate_limited`)."),
  502: errorSpec("WhatsApp refused or did not answer (`whatsapp_error`; its code in `details.whatsapp_code`)."),
};
