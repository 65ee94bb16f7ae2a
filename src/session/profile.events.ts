import type { BaileysEventMap } from "baileys";
import { database } from "../db/client";
import { updateSessionState } from "../db/sessions.repo";
import { SessionMeta } from "./session-state";
import type { SessionConfig } from "./session.types";

// The session's display name follows its push name: Baileys emits `creds.update` with `me.name`
// when the name changes (its own pushNameSetting patch, or the phone's arriving by app state).
// The object's state first, then D1, as status-reporter.ts orders them.

export async function onProfileEvents(parts: { env: Env; sql: SqlStorage }, config: SessionConfig, events: Partial<BaileysEventMap>): Promise<void> {
  const name = events["creds.update"]?.me?.name;
  if (!name) return;
  const meta = new SessionMeta(parts.sql);
  const state = meta.state();
  if (state.displayName === name) return;
  meta.writeState({ ...state, displayName: name });
  await updateSessionState(database(parts.env), config.id, { displayName: name });
}
