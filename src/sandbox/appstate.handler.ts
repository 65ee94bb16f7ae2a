import { Buffer } from "node:buffer";
import { proto } from "baileys/WAProto/index.js";
import { AppStateStore, isCollection } from "./appstate.store";
import type { ServerConnection } from "./connection";
import { SERVER_PAIR_JID } from "./phone-side";
import type { ServerCore } from "./server.core";
import { type BinaryNode, bytesOf, child, children, iqError, iqResult, node, serverId, unixNow } from "./stanzas";

// The app-state server (`w:sync:app:state`): per account and collection, a version and the patches
// devices pushed, stored opaque (the server has no app-state keys; it reads only the outer SyncdPatch
// to stamp its version). Client side: Baileys Socket/chats.js resyncAppState / appPatch and
// Utils/chat-utils.js extractSyncdPatches; whatsmeow appstate.go fetchAppStatePatches / sendAppState
// and appstate/decode.go ParsePatchList.

/** Patches per collection in one answer; more are flagged `has_more_patches` and fetched again. */
export const PATCH_PAGE = 100;
/** A patch is a few mutations; bigger ones go as external blobs (not accepted here). */
const MAX_PATCH_BYTES = 256 * 1024;

/**
 * set `<sync><collection name version [return_snapshot]>[<patch/>]</collection>…</sync>`.
 * Without a `<patch>`: the patches after `version` (whatsmeow omits `version` when asking for a
 * snapshot: from 0). With one: stored as the next version if `version` is the current one, else a
 * 409 conflict carrying the patches the device lacks (whatsmeow applies them and retries).
 */
export function onAppStateSync(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  if (!conn.account) return conn.send(iqError(iq, 401, "not-authorized"));
  const { phone, device } = conn.account;
  const store = new AppStateStore(core.store.sql);
  const changed: { name: string; version: number }[] = [];
  const answers = children(child(iq, "sync"), "collection").map((c) => {
    const name = c.attrs.name;
    if (!isCollection(name)) return collectionError(name ?? "", 400, "bad-request");
    const raw = c.attrs.version ?? "0";
    const asked = /^\d{1,15}$/.test(raw) ? Number(raw) : -1;
    if (asked < 0) return collectionError(name, 400, "bad-request");
    const patch = child(c, "patch");
    const current = store.version(phone, name);
    // A version the server never reached (sandbox choice: neither client reads an error here).
    if (asked > current) return collectionError(name, 400, "bad-request");
    if (!patch) {
      const answer = patchesAfter(store, phone, name, asked);
      const served = children(child(answer, "patches"), "patch").length;
      core.log("app_state_fetched", { session: conn.sessionId, phone, device, collection: name, after: asked, served });
      return answer;
    }
    if (asked !== current) {
      core.log("app_state_conflict", { session: conn.sessionId, phone, device, collection: name, asked, current });
      return patchesAfter(store, phone, name, asked, [node("error", { code: "409", text: "conflict" })]);
    }
    const bytes = bytesOf(patch);
    if (!bytes || bytes.length > MAX_PATCH_BYTES || !isPatch(bytes)) return collectionError(name, 400, "bad-request");
    store.addPatch(phone, name, current + 1, bytes, device);
    changed.push({ name, version: current + 1 });
    core.log("app_state_patch", { session: conn.sessionId, phone, device, collection: name, version: current + 1, bytes: bytes.length });
    return node("collection", { name, version: String(current + 1) });
  });
  conn.send(iqResult(iq, [node("sync", {}, answers)]));
  // The account's other devices learn a collection moved and fetch it (Baileys messages-recv.js
  // `server_sync` → resyncAppState; whatsmeow notification.go handleAppStateNotification). One
  // notification per collection: Baileys reads only the first <collection> of one.
  if (changed.length === 0) return;
  for (const other of core.store.activeCompanions(phone)) {
    if (other.device === device) continue;
    for (const c of changed) {
      core.deliver(phone, other.device, node("notification", { from: SERVER_PAIR_JID, type: "server_sync", id: serverId(), t: String(unixNow()) },
        [node("collection", { name: c.name, version: String(c.version) })]));
    }
  }
}

/** `<collection name version [has_more_patches]><patches><patch/>…</patches></collection>`: each patch stamped with its version. */
function patchesAfter(store: AppStateStore, phone: string, name: string, after: number, error?: BinaryNode[]): BinaryNode {
  const page = store.patchesAfter(phone, name, after, PATCH_PAGE + 1);
  const more = page.length > PATCH_PAGE;
  const served = page.slice(0, PATCH_PAGE);
  // Served as stored, with a `version` field appended: the last copy of a field wins when it is read,
  // and fields this proto does not know survive.
  const patches = served.map((p) => {
    const stamp = proto.SyncdPatch.encode({ version: { version: p.version } }).finish();
    return node("patch", {}, Buffer.concat([p.patch, stamp]));
  });
  const attrs: Record<string, string> = { name, version: String(served.at(-1)?.version ?? after) };
  if (error) attrs.type = "error";
  if (more) attrs.has_more_patches = "true";
  return node("collection", attrs, [...(error ?? []), node("patches", {}, patches)]);
}

const collectionError = (name: string, code: number, text: string): BinaryNode =>
  node("collection", { name, type: "error" }, [node("error", { code: String(code), text })]);

/** The outer SyncdPatch must parse and carry mutations or an external reference (its contents stay sealed). */
function isPatch(bytes: Uint8Array): boolean {
  try {
    const p = proto.SyncdPatch.decode(bytes);
    return (p.mutations?.length ?? 0) > 0 || Boolean(p.externalMutations);
  } catch {
    return false;
  }
}
