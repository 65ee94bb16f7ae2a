import { proto } from "baileys/WAProto/index.js";
import { chatModificationToAppPatch, encodeSyncdPatch } from "baileys/lib/Utils/chat-utils.js";
import type { ChatModification } from "baileys";
import { phoneAppStateKeys } from "./appstate.keys";
import { AppStateStore } from "./appstate.store";
import { phoneAppStateView } from "./appstate.view";
import { SERVER_PAIR_JID } from "./phone-side";
import type { ServerCore } from "./server.core";
import { node, serverId, unixNow } from "./stanzas";
import type { PhoneRow } from "./world.store";

// The phone changes a chat's settings itself: one mutation, encrypted and MACed with its newest
// app-state key on top of the collection's current LT-hash, stored as the next version (device 0,
// the phone), then every linked device hears `server_sync` and fetches it, as after a companion's
// push (appstate.handler.ts). Mutation shapes: Baileys Utils/chat-utils.js
// chatModificationToAppPatch (index JSON, collection, action version), the same as whatsmeow
// appstate/encode.go BuildArchive/BuildPin/BuildMute.

export async function phonePushesChatChange(core: ServerCore, phone: PhoneRow, chatJid: string, mod: ChatModification): Promise<{ collection: string; version: number }> {
  const create = chatModificationToAppPatch(mod, chatJid);
  // The phone app stamps each action with its time (whatsmeow EncodePatch sets Timestamp).
  create.syncAction.timestamp = Date.now();
  const view = await phoneAppStateView(core, phone);
  const keys = phoneAppStateKeys(core, phone);
  const newest = keys[keys.length - 1];
  const keyId = newest.keyId.toString("base64");
  const state = view.collections.get(create.type)!;
  const { patch, state: next } = await encodeSyncdPatch(create, keyId, state, async (id) => (id === keyId ? newest.keyData : null));
  const store = new AppStateStore(core.store.sql);
  const version = store.version(phone.phone, create.type) + 1;
  // encodeSyncdPatch counts from the state it was given: it must land on the stored next version.
  if (next.version !== version) throw new Error(`app state ${create.type}: built version ${next.version}, store at ${version - 1}`);
  store.addPatch(phone.phone, create.type, version, proto.SyncdPatch.encode(patch).finish(), 0);
  core.log("app_state_patch", { phone: phone.phone, device: 0, collection: create.type, version, index: create.index });
  for (const c of core.store.activeCompanions(phone.phone)) {
    core.deliver(phone.phone, c.device, node("notification", { from: SERVER_PAIR_JID, type: "server_sync", id: serverId(), t: String(unixNow()) }, [
      node("collection", { name: create.type, version: String(version) }),
    ]));
  }
  return { collection: create.type, version };
}
