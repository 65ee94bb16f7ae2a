import type { Buffer } from "node:buffer";
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
}

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

/** The phone's own sender key for a group: the distribution message and the skmsg ciphertext of `message`. */
export async function encryptForGroup(store: WorldStore, from: PhoneRow, groupJid: string, message: proto.IMessage) {
  const keys = new PhoneSenderKeyStore(store, from.phone);
  const name = new SenderKeyName(groupJid, { id: from.phone, deviceId: 0, toString: () => `${from.phone}.0` });
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

const senderName = (groupJid: string, author: { user: string; device: number }) =>
  new SenderKeyName(groupJid, { id: author.user, deviceId: author.device, toString: () => `${author.user}.${author.device}` });

/** The `<group>` node of w:g2 results and create notifications. */
export function groupNode(g: GroupRow, members: GroupMember[], phones: (phone: string) => PhoneRow | undefined): BinaryNode {
  const t = String(Math.floor(g.created_at / 1000));
  return node("group", {
    id: g.jid.split("@")[0],
    subject: g.subject,
    s_t: t,
    s_o: pnJid(g.creator),
    creation: t,
    creator: pnJid(g.creator),
    size: String(members.length),
    addressing_mode: "pn",
  }, members.map((m) => {
    const p = phones(m.phone);
    return node("participant", { jid: pnJid(m.phone), lid: p ? lidJid(p.lid) : undefined, type: m.admin ?? undefined });
  }));
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
