import { Buffer } from "node:buffer";
import { GroupCipher, GroupSessionBuilder, SenderKeyDistributionMessage, SenderKeyName, SenderKeyRecord } from "baileys/lib/Signal/Group/index.js";
import type { SenderKeyStore } from "baileys/lib/Signal/Group/group_cipher.js";
import { proto } from "baileys/WAProto/index.js";
import { padMax16, random, toBuffer } from "./crypto";
import type { PhoneRow, WorldStore } from "./world.store";
import { type BinaryNode, lidJid, node, pnJid } from "./stanzas";

export interface GroupRow {
  jid: string;
  subject: string;
  creator: string;
  created_at: number;
  // Schema step 5; optional so a new group can be inserted with the four above (defaults apply).
  description?: string | null;
  description_id?: string | null;
  description_by?: string | null;
  description_at?: number | null;
  subject_by?: string | null;
  subject_at?: number | null;
  announce?: number;
  locked?: number;
  join_approval?: number;
  member_add_mode?: "admin_add" | "all_member_add";
  invite_code?: string | null;
  picture_id?: string | null;
  /** Schema step 6: "lid" when WhatsApp addresses the members by LID (lids.ts). */
  addressing_mode?: "pn" | "lid";
}

/** The columns of `groups` a group operation may change (groups.ts `update`). */
export type GroupPatch = Partial<Omit<GroupRow, "jid" | "creator" | "created_at">>;
const PATCHABLE: readonly (keyof GroupPatch)[] = [
  "subject", "subject_by", "subject_at", "description", "description_id", "description_by", "description_at",
  "announce", "locked", "join_approval", "member_add_mode", "invite_code", "picture_id",
];

export interface AddInviteRow { group_jid: string; phone: string; code: string; expiration: number; admin: string }

export interface GroupMember {
  phone: string;
  admin: "admin" | "superadmin" | null;
}

export interface GroupInfo {
  jid: string;
  subject: string;
  owner: string;
  created_at: string;
  participants: { phone_number: string; jid: string; lid: string; admin: "admin" | "superadmin" | null }[];
}

export const isGroupJid = (jid: string | undefined): boolean => !!jid && jid.endsWith("@g.us");

/** Group ids look like current real ones: 120363 + 12 digits. */
export const newGroupJid = (): string => `120363${String(random(6).readUIntBE(0, 6) % 1_000_000_000_000).padStart(12, "0")}@g.us`;

export class GroupStore {
  constructor(private readonly store: WorldStore) {}

  insert(g: GroupRow, members: GroupMember[]): void {
    const sql = this.store.sql;
    sql.run(`INSERT INTO groups (jid, subject, creator, created_at) VALUES (?,?,?,?)`, g.jid, g.subject, g.creator, g.created_at);
    for (const m of members) sql.run(`INSERT OR REPLACE INTO group_members (group_jid, phone, admin) VALUES (?,?,?)`, g.jid, m.phone, m.admin);
  }
  update(jid: string, patch: GroupPatch): void {
    const keys = PATCHABLE.filter((k) => patch[k] !== undefined);
    if (!keys.length) return;
    this.store.sql.run(`UPDATE groups SET ${keys.map((k) => `${k} = ?`).join(", ")} WHERE jid = ?`, ...keys.map((k) => patch[k] ?? null), jid);
  }
  /** Adds a member or changes its rank; a member keeps its place in the list (rowid) when promoted. */
  setMember(jid: string, phone: string, admin: GroupMember["admin"]): void {
    this.store.sql.run(`INSERT INTO group_members (group_jid, phone, admin) VALUES (?,?,?) ON CONFLICT (group_jid, phone) DO UPDATE SET admin = excluded.admin`, jid, phone, admin);
  }
  /** Removes a member; the group's sender keys they held go stale (senders re-distribute to the rest). */
  removeMember(jid: string, phone: string): void {
    this.store.sql.run(`DELETE FROM group_members WHERE group_jid = ? AND phone = ?`, jid, phone);
  }
  /** Sender keys must rotate when a member leaves: forget who holds the current ones. */
  forgetSenderKeys(jid: string): void {
    this.store.sql.run(`DELETE FROM sender_key_sent WHERE group_jid = ?`, jid);
  }
  /**
   * After a member leaves, every remaining member's own sender key is dropped too, so its next
   * group message starts a new chain the one who left never received (encryptForGroup makes it).
   */
  rotateSenderKeys(jid: string): void {
    this.forgetSenderKeys(jid);
    for (const m of this.members(jid)) this.store.sql.run(`DELETE FROM sender_keys WHERE owner = ? AND name = ?`, m.phone, senderKeyName(jid, m.phone).toString());
  }
  /** The last member left: the group and everything kept for it go, sender keys included. */
  delete(jid: string): void {
    for (const table of ["group_members", "group_pictures", "group_requests", "group_add_invites", "sender_key_sent"]) {
      this.store.sql.run(`DELETE FROM ${table} WHERE group_jid = ?`, jid);
    }
    const prefix = `${jid}::`;
    this.store.sql.run(`DELETE FROM sender_keys WHERE substr(name, 1, ?) = ?`, prefix.length, prefix);
    this.store.sql.run(`DELETE FROM groups WHERE jid = ?`, jid);
  }
  /** A phone's "who can add me to groups" setting ('all' unless set). */
  addPrivacy(phone: string): "all" | "contacts" | "none" {
    return this.store.sql.one<{ group_add_privacy: "all" | "contacts" | "none" }>(`SELECT group_add_privacy FROM phones WHERE phone = ?`, phone)?.group_add_privacy ?? "all";
  }
  setAddPrivacy(phone: string, value: "all" | "contacts" | "none"): void {
    this.store.sql.run(`UPDATE phones SET group_add_privacy = ? WHERE phone = ?`, value, phone);
  }
  /** Whether two phones ever exchanged a message (the sandbox's stand-in for "in my contacts"). */
  haveChatted(a: string, b: string): boolean {
    return !!this.store.sql.one(`SELECT 1 AS x FROM messages WHERE (owner = ? AND peer = ?) OR (owner = ? AND peer = ?) LIMIT 1`, a, b, b, a);
  }
  putPicture(jid: string, id: string, jpeg: Uint8Array): void {
    this.store.sql.run(`INSERT OR REPLACE INTO group_pictures (group_jid, picture_id, data, updated_at) VALUES (?,?,?,?)`, jid, id, jpeg, Date.now());
    this.update(jid, { picture_id: id });
  }
  deletePicture(jid: string): void {
    this.store.sql.run(`DELETE FROM group_pictures WHERE group_jid = ?`, jid);
    this.store.sql.run(`UPDATE groups SET picture_id = NULL WHERE jid = ?`, jid);
  }
  picture(jid: string): { picture_id: string; data: Uint8Array } | undefined {
    const row = this.store.sql.one<{ picture_id: string; data: ArrayBuffer | Uint8Array }>(`SELECT picture_id, data FROM group_pictures WHERE group_jid = ?`, jid);
    return row ? { picture_id: row.picture_id, data: new Uint8Array(row.data) } : undefined;
  }
  /** Join requests waiting for an admin (groups.invites.ts). */
  requests(jid: string): { phone: string; method: string; requested_at: number }[] {
    return this.store.sql.all(`SELECT phone, method, requested_at FROM group_requests WHERE group_jid = ? ORDER BY requested_at, phone`, jid);
  }
  hasRequest(jid: string, phone: string): boolean {
    return !!this.store.sql.one(`SELECT 1 AS x FROM group_requests WHERE group_jid = ? AND phone = ?`, jid, phone);
  }
  putRequest(jid: string, phone: string, method: string): void {
    this.store.sql.run(`INSERT OR IGNORE INTO group_requests (group_jid, phone, method, requested_at) VALUES (?,?,?,?)`, jid, phone, method, Date.now());
  }
  /** Drops `phone`'s pending request, if any; true when there was one. */
  dropRequest(jid: string, phone: string): boolean {
    const had = this.hasRequest(jid, phone);
    if (had) this.store.sql.run(`DELETE FROM group_requests WHERE group_jid = ? AND phone = ?`, jid, phone);
    return had;
  }
  /** Drops the invite a privacy-refused add left for `phone`; true when there was one. */
  dropAddInvite(jid: string, phone: string): boolean {
    const had = !!this.store.sql.one(`SELECT 1 AS x FROM group_add_invites WHERE group_jid = ? AND phone = ?`, jid, phone);
    if (had) this.store.sql.run(`DELETE FROM group_add_invites WHERE group_jid = ? AND phone = ?`, jid, phone);
    return had;
  }
  /** The invite a privacy-refused add leaves (one per group and invitee; a new refusal replaces it). */
  putAddInvite(i: AddInviteRow): void {
    this.store.sql.run(`INSERT OR REPLACE INTO group_add_invites (group_jid, phone, code, expiration, admin) VALUES (?,?,?,?,?)`, i.group_jid, i.phone, i.code, i.expiration, i.admin);
  }
  /** Uses up the invitee's invite if `code` is its code, `admin` (when given) the one who sent it, and it has not expired (`now` in unix seconds). */
  takeAddInvite(jid: string, phone: string, code: string, admin: string | undefined, now: number): "ok" | "missing" | "wrong" | "expired" {
    const row = this.store.sql.one<AddInviteRow>(`SELECT * FROM group_add_invites WHERE group_jid = ? AND phone = ?`, jid, phone);
    if (!row) return "missing";
    if (row.code !== code || (admin !== undefined && row.admin !== admin)) return "wrong";
    if (row.expiration < now) return "expired";
    this.store.sql.run(`DELETE FROM group_add_invites WHERE group_jid = ? AND phone = ?`, jid, phone);
    return "ok";
  }
  addInvites(jid: string): AddInviteRow[] {
    return this.store.sql.all<AddInviteRow>(`SELECT * FROM group_add_invites WHERE group_jid = ? ORDER BY rowid`, jid);
  }
  byInviteCode(code: string): GroupRow | undefined {
    return this.store.sql.one<GroupRow>(`SELECT * FROM groups WHERE invite_code = ?`, code);
  }
  group(jid: string): GroupRow | undefined {
    return this.store.sql.one<GroupRow>(`SELECT * FROM groups WHERE jid = ?`, jid);
  }
  members(jid: string): GroupMember[] {
    return this.store.sql.all<GroupMember>(`SELECT phone, admin FROM group_members WHERE group_jid = ? ORDER BY rowid`, jid);
  }
  groupsOf(phone: string): GroupRow[] {
    return this.store.sql.all<GroupRow>(
      `SELECT g.* FROM groups g JOIN group_members m ON m.group_jid = g.jid WHERE m.phone = ? ORDER BY g.created_at`, phone);
  }
  /** Devices that already hold this sender's key for the group (they need no distribution message). */
  hasSenderKey(owner: string, group: string, phone: string, device: number): boolean {
    return !!this.store.sql.one(`SELECT 1 AS x FROM sender_key_sent WHERE owner = ? AND group_jid = ? AND phone = ? AND device = ?`, owner, group, phone, device);
  }
  markSenderKey(owner: string, group: string, phone: string, device: number): void {
    this.store.sql.run(`INSERT OR IGNORE INTO sender_key_sent (owner, group_jid, phone, device) VALUES (?,?,?,?)`, owner, group, phone, device);
  }
}

/** Sender-key records of one simulated phone, in the world's SQLite (Baileys' own group cipher runs on it). */
export class PhoneSenderKeyStore implements SenderKeyStore {
  constructor(private readonly store: WorldStore, private readonly owner: string) {}

  async loadSenderKey(name: SenderKeyName): Promise<SenderKeyRecord> {
    const row = this.store.sql.one<{ record: string }>(`SELECT record FROM sender_keys WHERE owner = ? AND name = ?`, this.owner, name.toString());
    // deserialize takes the JSON text itself (it revives Buffers with BufferJSON).
    return row ? SenderKeyRecord.deserialize(new TextEncoder().encode(row.record)) : new SenderKeyRecord();
  }

  async storeSenderKey(name: SenderKeyName, record: SenderKeyRecord): Promise<void> {
    this.store.sql.run(`INSERT OR REPLACE INTO sender_keys (owner, name, record) VALUES (?,?,?)`, this.owner, name.toString(), JSON.stringify(record.serialize()));
  }
}

/** The name a sender's key for a group is kept under (Baileys' SenderKeyName: `group::user::device`). */
export const senderKeyName = (groupJid: string, user: string, device = 0): SenderKeyName =>
  new SenderKeyName(groupJid, { id: user, deviceId: device, toString: () => `${user}.${device}` });

/** The phone's own sender key for a group: the distribution message and the skmsg ciphertext of `message`. */
export async function encryptForGroup(store: WorldStore, from: PhoneRow, groupJid: string, message: proto.IMessage) {
  const keys = new PhoneSenderKeyStore(store, from.phone);
  const name = senderKeyName(groupJid, from.phone);
  const skdm = await new GroupSessionBuilder(keys).create(name);
  const ciphertext = await new GroupCipher(keys, name).encrypt(padMax16(proto.Message.encode(message).finish()));
  return { skdm: toBuffer(skdm.serialize()), ciphertext: toBuffer(ciphertext) };
}

/** Incoming sender key of a companion (from its pkmsg), and decryption of its skmsg. */
export async function processGroupSenderKey(store: WorldStore, owner: string, groupJid: string, author: { user: string; device: number }, skdmBytes: Uint8Array): Promise<void> {
  const keys = new PhoneSenderKeyStore(store, owner);
  const name = senderName(groupJid, author);
  await new GroupSessionBuilder(keys).process(name, new SenderKeyDistributionMessage(null, null, null, null, skdmBytes));
}

export async function decryptGroupMessage(store: WorldStore, owner: string, groupJid: string, author: { user: string; device: number }, ciphertext: Uint8Array): Promise<Buffer> {
  const keys = new PhoneSenderKeyStore(store, owner);
  return toBuffer(await new GroupCipher(keys, senderName(groupJid, author)).decrypt(ciphertext));
}

const senderName = (groupJid: string, author: { user: string; device: number }) => senderKeyName(groupJid, author.user, author.device);

/**
 * The `<group>` node of w:g2 results and create notifications, as whatsmeow parseGroupNode and
 * Baileys extractGroupMetadata read it: settings are children present only when on.
 */
export function groupNode(g: GroupRow, members: GroupMember[], phones: (phone: string) => PhoneRow | undefined, extra: BinaryNode[] = []): BinaryNode {
  const t = String(Math.floor(g.created_at / 1000));
  // A LID-addressed group names members by LID, each number beside it (`phone_number`, `*_pn`).
  const lid = g.addressing_mode === "lid";
  const ref = (phone: string) => {
    const p = lid ? phones(phone) : undefined;
    return p ? { jid: lidJid(p.lid), pn: pnJid(p.phone) } : { jid: pnJid(phone), pn: undefined };
  };
  const participants = members.map((m) => {
    const p = phones(m.phone);
    if (lid && p) return node("participant", { jid: lidJid(p.lid), phone_number: pnJid(m.phone), type: m.admin ?? undefined });
    return node("participant", { jid: pnJid(m.phone), lid: p ? lidJid(p.lid) : undefined, type: m.admin ?? undefined });
  });
  const settings: BinaryNode[] = [];
  if (g.description) {
    const by = g.description_by ? ref(g.description_by) : undefined;
    settings.push(node("description", { id: g.description_id ?? undefined, participant: by?.jid, participant_pn: by?.pn, t: String(g.description_at ?? t) },
      [node("body", {}, Buffer.from(g.description, "utf8"))]));
  }
  if (g.announce) settings.push(node("announcement"));
  if (g.locked) settings.push(node("locked"));
  if (g.join_approval) settings.push(node("membership_approval_mode", {}, [node("group_join", { state: "on" })]));
  settings.push(node("member_add_mode", {}, g.member_add_mode ?? "admin_add"));
  return node("group", {
    id: g.jid.split("@")[0],
    subject: g.subject,
    s_t: String(g.subject_at ?? t),
    s_o: ref(g.subject_by ?? g.creator).jid,
    s_o_pn: ref(g.subject_by ?? g.creator).pn,
    creation: t,
    creator: ref(g.creator).jid,
    creator_pn: ref(g.creator).pn,
    size: String(members.length),
    addressing_mode: lid ? "lid" : "pn",
  }, [...participants, ...extra, ...settings]);
}

export function groupInfo(g: GroupRow, members: GroupMember[], phones: (phone: string) => PhoneRow | undefined, iso: (ms: number) => string): GroupInfo {
  return {
    jid: g.jid,
    subject: g.subject,
    owner: g.creator,
    created_at: iso(g.created_at),
    participants: members.map((m) => ({ phone_number: m.phone, jid: pnJid(m.phone), lid: lidJid(phones(m.phone)?.lid ?? ""), admin: m.admin })),
  };
}
