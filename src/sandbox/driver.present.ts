import { type MessageExtra, parseExtra } from "./content";
import { isGroupJid } from "./groups";
import { isLidAddressed } from "./lids";
import { type ReceiptPolicy, receiptPolicyOf } from "./phones";
import { retryStateOf } from "./retries";
import type { ServerCore } from "./server.core";
import { lidJid, pnJid } from "./stanzas";
import type { MessageRow, PhoneRow } from "./world.store";

// What the driver answers: phones, inbox messages, sends; the routes' response schemas match these.

export interface LinkedDevice {
  device: number;
  jid: string;
  lid: string;
  session_id: string;
  status: "active" | "logged_out";
  platform: string;
  connected: boolean;
  linked_at: string;
}

export interface PhoneInfo {
  phone_number: string;
  jid: string;
  lid: string;
  name: string;
  banned: boolean;
  group_add_privacy: GroupAddPrivacy;
  /** WhatsApp addresses this phone's chats by LID. */
  lid_addressed: boolean;
  receipt_policy: ReceiptPolicy;
  linked_devices: LinkedDevice[];
  created_at: string;
}

export interface InboxMessage extends Omit<MessageExtra, "revoked_at"> {
  id: string;
  direction: "in" | "out";
  /** Phone numbers; in a group `to` is the group jid and `participant` the author. */
  from: string;
  to: string;
  from_device: number | null;
  /** The chat: the peer's jid, or the group jid. */
  chat: string;
  group_jid: string | null;
  type: string;
  text: string | null;
  caption: string | null;
  /** Hex SHA-256 of the plaintext file. */
  media_sha256: string | null;
  mimetype: string | null;
  timestamp: string;
  delivered_at: string | null;
  read_at: string | null;
  revoked_at: string | null;
  retry_count: number;
  awaiting_resend: boolean;
  resent_at: string | null;
}

export interface SentByPhone {
  id: string;
  from: string;
  to: string;
  type: string;
  timestamp: string;
  delivered_to_devices: number;
  /** Media: hex SHA-256 and length of the plaintext file. */
  media_sha256: string | null;
  file_length: number | null;
}

export interface MediaDownload {
  id: string;
  type: string;
  mimetype: string | null;
  file_name: string | null;
  file_length: number;
  sha256: string;
  base64: string;
}

export type GroupAddPrivacy = "all" | "contacts" | "none";
/** The phones column of schema step 5 (PhoneRow predates it). */
export const groupAddPrivacyOf = (p: PhoneRow): GroupAddPrivacy => (p as PhoneRow & { group_add_privacy?: GroupAddPrivacy }).group_add_privacy ?? "all";

/** Epoch ms as the API's timestamps (microsecond digits, like the gateway's). */
export const iso = (ms: number | null | undefined): string | null => (ms == null ? null : new Date(ms).toISOString().replace("Z", "000Z"));

export function phoneInfo(core: ServerCore, p: PhoneRow): PhoneInfo {
  return {
    phone_number: p.phone,
    jid: pnJid(p.phone),
    lid: lidJid(p.lid),
    name: p.name,
    banned: !!p.banned,
    group_add_privacy: groupAddPrivacyOf(p),
    lid_addressed: isLidAddressed(p),
    receipt_policy: receiptPolicyOf(p),
    linked_devices: core.store.allCompanions().filter((c) => c.phone === p.phone).map((c) => ({
      device: c.device,
      jid: pnJid(c.phone, c.device),
      lid: lidJid(p.lid, c.device),
      session_id: c.session_id,
      status: c.status,
      platform: c.platform,
      connected: core.byDeviceOf(c.phone, c.device)?.state === "open",
      linked_at: iso(c.created_at)!,
    })),
    created_at: iso(p.created_at)!,
  };
}

export function inboxMessage(p: PhoneRow, m: MessageRow): InboxMessage {
  const group = isGroupJid(m.chat_jid) ? m.chat_jid : null;
  const extra = parseExtra(m.extra);
  const retry = retryStateOf(m);
  return {
    id: m.id,
    direction: m.direction,
    from: m.direction === "in" ? m.peer : p.phone,
    to: m.direction === "in" ? (group ?? p.phone) : m.peer,
    from_device: m.from_device,
    chat: group ?? pnJid(m.peer),
    group_jid: group,
    type: m.type,
    text: m.text,
    caption: m.caption,
    media_sha256: m.media_sha256,
    mimetype: m.mimetype,
    ...extra,
    timestamp: iso(m.timestamp)!,
    delivered_at: iso(m.delivered_at),
    read_at: iso(m.read_at),
    revoked_at: iso(extra.revoked_at),
    retry_count: retry.retry_count,
    awaiting_resend: retry.awaiting_resend,
    resent_at: iso(retry.resent_at),
  };
}

/** What the driver answers for a send, from the sender's own copy of the message. */
export function sentResult(core: ServerCore, id: string, from: string, to: string, devices: number): SentByPhone {
  const row = core.store.message(from, id, "out")!;
  const extra = parseExtra(row.extra);
  return { id, from, to, type: row.type, timestamp: iso(row.timestamp)!, delivered_to_devices: devices, media_sha256: row.media_sha256, file_length: extra.file_length };
}
