import { accountSync } from "./privacy";
import { blockEntries, blocklistHash, setBlocked } from "./blocklist";
import type { ServerConnection } from "./connection";
import type { ServerCore } from "./server.core";
import { type BinaryNode, child, iqError, iqResult, lidJid, node } from "./stanzas";
import type { PhoneRow } from "./world.store";

// The blocklist iqs (Baileys Socket/chats.js fetchBlocklist / updateBlockStatus; whatsmeow user.go
// GetBlocklist / UpdateBlocklist, notification.go handleBlocklist; whatsapp-rust
// wacore/src/iq/blocklist.rs). The list names LIDs, as WhatsApp's does since LIDs, each with the
// time it was blocked: `<list dhash><item jid="…@lid" t/></list>`.

function listNode(core: ServerCore, phone: string): BinaryNode {
  const items = blockEntries(core, phone).map((e) => ({ jid: lidJid(e.blocked.lid), t: String(Math.floor(e.at / 1000)) }));
  return node("list", { dhash: blocklistHash(items.map((i) => i.jid)) }, items.map((attrs) => node("item", attrs)));
}

/** `<iq xmlns="blocklist" type="get"/>` → the list. */
export function onBlocklistGet(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  if (!conn.account) return conn.send(iqError(iq, 401, "not-authorized"));
  conn.send(iqResult(iq, [listNode(core, conn.account.phone)]));
}

/**
 * `<iq xmlns="blocklist" type="set"><item action="block|unblock" jid=LID pn_jid?/></iq>` → the
 * updated list (whatsmeow reads it), and an `account_sync` `<blocklist>` notification to the
 * account's other devices (Baileys → blocklist.update). The item names the user by LID (Baileys,
 * whatsmeow and whatsapp-rust all send one; whatsapp-rust notes the server refuses a number-only
 * block). An unknown user: 404 item-not-found; a bad action or a jid that is not a LID: 400
 * bad-request (codes whatsmeow's errors.go lists; the exact ones WhatsApp uses are a guess).
 */
export function onBlocklistSet(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  if (!conn.account) return conn.send(iqError(iq, 401, "not-authorized"));
  const item = child(iq, "item");
  const action = item?.attrs.action;
  if (!item || (action !== "block" && action !== "unblock") || !item.attrs.jid?.endsWith("@lid")) return conn.send(iqError(iq, 400, "bad-request"));
  const other: PhoneRow | undefined = core.resolveUser(item.attrs.jid);
  const { phone, device } = conn.account;
  if (!other || other.phone === phone) return conn.send(iqError(iq, 404, "item-not-found"));
  changeBlock(core, phone, other, action === "block", device);
  conn.send(iqResult(iq, [listNode(core, phone)]));
}

/**
 * Blocks or unblocks `other` for `phone` (its linked device `byDevice` asked, or the phone itself:
 * undefined); the account's other devices get an `account_sync` `<blocklist>` notification.
 */
export function changeBlock(core: ServerCore, phone: string, other: PhoneRow, block: boolean, byDevice?: number): void {
  const prevHash = listNode(core, phone).attrs.dhash;
  const changed = setBlocked(core, phone, other.phone, block);
  core.log("blocklist_changed", { phone, other: other.phone, block, changed });
  if (!changed) return;
  const dhash = listNode(core, phone).attrs.dhash;
  accountSync(core, phone, () => node("blocklist", { dhash, prev_dhash: prevHash }, [node("item", { jid: lidJid(other.lid), action: block ? "block" : "unblock" })]), byDevice);
}
