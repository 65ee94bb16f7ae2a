import { proto } from "baileys/WAProto/index.js";
import { decodePatches, newLTHashState } from "baileys/lib/Utils/chat-utils.js";
import type { LTHashState } from "baileys";
import { phoneAppStateKeys } from "./appstate.keys";
import { APP_STATE_COLLECTIONS, AppStateStore, type AppStateCollection } from "./appstate.store";
import type { ServerCore } from "./server.core";
import type { PhoneRow } from "./world.store";

// The phone's view of its app state: it holds the sync keys it shared (appstate.keys.ts), so it
// opens every patch its devices pushed (and its own) and folds the mutations into chat settings,
// contact names and its push name. The phone is a WhatsApp client: it decodes with Baileys' client
// utilities (Utils/chat-utils.js decodePatches), MACs checked (value MAC, index MAC, patch MAC, and
// the LT-hash snapshot MAC after each patch: whatsmeow appstate/decode.go, hash.go). A patch that
// fails a check is left out of the view and named in `problems`.

export interface PhoneChatView {
  chat: string;
  archived?: boolean;
  pinned?: boolean;
  /** Mute end (ms); -1 forever; null unmuted. */
  mute_end?: number | null;
  /** When the history was cleared (the action's time, ms). */
  cleared_at?: number;
  read?: boolean;
  deleted_at?: number;
}

export interface PhoneAppStateView {
  chats: Map<string, PhoneChatView>;
  /** Names the phone's address book gives (contactAction fullName/firstName), by JID. */
  contacts: Map<string, { full_name: string | null; first_name: string | null }>;
  push_name: string | null;
  /** Each collection's version and LT-hash state (what the phone's next patch builds on). */
  collections: Map<AppStateCollection, LTHashState>;
  problems: string[];
}

type Mutation = { syncAction: proto.ISyncActionData; index: string[] };

/** Decodes every stored patch of the phone's account, oldest first, and folds the last value of each index. */
export async function phoneAppStateView(core: ServerCore, phone: PhoneRow): Promise<PhoneAppStateView> {
  const keys = new Map(phoneAppStateKeys(core, phone).map((k) => [k.keyId.toString("base64"), k.keyData]));
  const store = new AppStateStore(core.store.sql);
  const view: PhoneAppStateView = { chats: new Map(), contacts: new Map(), push_name: null, collections: new Map(), problems: [] };
  for (const name of APP_STATE_COLLECTIONS) {
    const stored = store.patchesAfter(phone.phone, name, 0, Number.MAX_SAFE_INTEGER);
    const patches = stored.map((p) => ({ ...proto.SyncdPatch.decode(p.patch), version: { version: p.version } }) as proto.ISyncdPatch);
    const logger = problemLogger(view.problems, name);
    const { state, mutationMap } = await decodePatches(name, patches, newLTHashState(), async (id) => keys.get(id) ?? null, {}, undefined, logger, true);
    view.collections.set(name, state);
    // mutationMap keeps the last mutation of each index, in the order the indexes first appeared.
    for (const m of Object.values(mutationMap) as Mutation[]) fold(view, m);
  }
  return view;
}

function fold(view: PhoneAppStateView, { syncAction, index }: Mutation): void {
  const value = syncAction.value ?? {};
  const [kind, jid] = index;
  const chat = (id: string) => view.chats.get(id) ?? view.chats.set(id, { chat: id }).get(id)!;
  const at = Number(value.timestamp ?? 0);
  switch (kind) {
    case "archive":
      chat(jid).archived = !!value.archiveChatAction?.archived;
      return;
    case "pin_v1":
      chat(jid).pinned = !!value.pinAction?.pinned;
      return;
    case "mute":
      chat(jid).mute_end = value.muteAction?.muted ? Number(value.muteAction.muteEndTimestamp ?? -1) : null;
      return;
    case "clearChat":
      chat(jid).cleared_at = at;
      return;
    case "markChatAsRead":
      chat(jid).read = !!value.markChatAsReadAction?.read;
      return;
    case "deleteChat":
      chat(jid).deleted_at = at;
      return;
    case "contact":
      view.contacts.set(jid, { full_name: value.contactAction?.fullName ?? null, first_name: value.contactAction?.firstName ?? null });
      return;
    case "setting_pushName":
      view.push_name = value.pushNameSetting?.name ?? null;
      return;
  }
}

/** Baileys reports a patch it could not verify as a warning and skips it: the view names it. */
function problemLogger(problems: string[], collection: string) {
  const quiet = () => {};
  const logger = {
    level: "warn",
    trace: quiet,
    debug: quiet,
    info: quiet,
    error: (obj: unknown, msg?: string) => problems.push(`${collection}: ${msg ?? ""} ${JSON.stringify(obj)}`),
    warn: (obj: unknown, msg?: string) => problems.push(`${collection}: ${msg ?? ""} ${JSON.stringify(obj)}`),
    child: () => logger,
  };
  return logger;
}
