import { type BinaryNode, lidJid, node, parseJid, pnJid } from "./stanzas";
import type { PhoneRow, WorldStore } from "./world.store";

// Phones and groups WhatsApp addresses by LID (docs/protocol/lids.md). A LID-addressed phone's 1:1
// messages and receipts reach companions `from` its LID with its number beside it (`sender_pn`),
// as whatsmeow message.go parseMessageSource and Baileys extractAddressingContext read them; a
// phone addressed by number says its LID beside it (`sender_lid`). In a LID-addressed group
// (`addressing_mode="lid"`) members are named by LID: `participant` + `participant_pn` on
// stanzas, `<participant jid=LID phone_number=PN>` in metadata and notifications (whatsmeow
// group.go parseParticipant, Baileys extractGroupMetadata / handleGroupNotification).

/** The phones column of schema step 6 (PhoneRow predates it). */
export const isLidAddressed = (p: PhoneRow): boolean => !!(p as PhoneRow & { lid_addressed?: number }).lid_addressed;

/** Who a 1:1 stanza from this phone comes from: its LID or its number, with the other one beside it. */
export function senderAttrs(p: PhoneRow): { from: string; sender_pn?: string; sender_lid?: string } {
  return isLidAddressed(p) ? { from: lidJid(p.lid), sender_pn: pnJid(p.phone) } : { from: pnJid(p.phone), sender_lid: lidJid(p.lid) };
}

/** WhatsApp starts (or stops) addressing this phone's chats by LID. */
export function setLidAddressed(store: WorldStore, phone: string, on: boolean): PhoneRow {
  store.sql.run(`UPDATE phones SET lid_addressed = ? WHERE phone = ?`, on ? 1 : 0, phone);
  return store.phone(phone)!;
}

/** The groups column of schema step 6: "lid" or "pn". */
export const isLidGroup = (store: WorldStore, groupJid: string): boolean =>
  store.sql.one<{ addressing_mode: string }>(`SELECT addressing_mode FROM groups WHERE jid = ?`, groupJid)?.addressing_mode === "lid";

export function setGroupAddressing(store: WorldStore, groupJid: string, mode: "pn" | "lid"): void {
  store.sql.run(`UPDATE groups SET addressing_mode = ? WHERE jid = ?`, mode, groupJid);
}

/** A member as a group's stanzas name it (`participant`, with `participant_pn` or `participant_lid` beside it). */
export function memberAttrs(p: PhoneRow, lidGroup: boolean, device = 0): { participant: string; participant_pn?: string; participant_lid?: string } {
  return lidGroup ? { participant: lidJid(p.lid, device), participant_pn: pnJid(p.phone) } : { participant: pnJid(p.phone, device), participant_lid: lidJid(p.lid) };
}

/**
 * The `<participant jid=PN lid=LID>` nodes (at any depth) as a LID-addressed group writes them:
 * `<participant jid=LID phone_number=PN>`. Other nodes are kept as they are.
 */
export function toLidParticipants(store: WorldStore, n: BinaryNode): BinaryNode {
  const content = Array.isArray(n.content) ? n.content.map((c) => toLidParticipants(store, c)) : n.content;
  if (n.tag !== "participant") return { ...n, content };
  const jid = parseJid(n.attrs.jid ?? "");
  const p = jid && jid.server !== "lid" ? store.phone(jid.user) : undefined;
  if (!p) return { ...n, content };
  const { lid: _lid, ...attrs } = n.attrs;
  return node("participant", { ...attrs, jid: lidJid(p.lid), phone_number: pnJid(p.phone) }, content as BinaryNode[] | undefined);
}
