import { Buffer } from "node:buffer";
import type { Sql } from "../platform/sql";

export interface PhoneRow {
  phone: string;
  lid: string;
  name: string;
  reg_id: number;
  identity_priv: Buffer;
  identity_pub: Buffer;
  spk_id: number;
  spk_priv: Buffer;
  spk_pub: Buffer;
  spk_sig: Buffer;
  next_prekey_id: number;
  next_device: number;
  next_key_index: number;
  receipt_policy: string;
  banned: number;
  created_at: number;
}

export interface CompanionRow {
  phone: string;
  device: number;
  session_id: string;
  noise_pub: Buffer;
  identity_pub: Buffer;
  reg_id: number;
  skey_id: number;
  skey_pub: Buffer;
  skey_sig: Buffer;
  key_index: number;
  platform: string;
  status: "active" | "logged_out";
  history_synced: number;
  created_at: number;
}

export interface MessageRow {
  owner: string;
  id: string;
  direction: "in" | "out";
  peer: string;
  /** The jid the sender addressed (PN or LID form), used to answer receipts in the same form. */
  chat_jid: string;
  from_device: number | null;
  type: string;
  text: string | null;
  caption: string | null;
  media_sha256: string | null;
  mimetype: string | null;
  timestamp: number;
  delivered_at: number | null;
  read_at: number | null;
  /** JSON of MessageExtra (file, location, contacts, poll, reaction, quote, mentions, group participant). */
  extra: string | null;
  /** JSON of MediaRef: where the encrypted file is and its keys, for a later download. */
  media_ref: string | null;
}

/** A stanza kept for a device (bytes as it goes out offline, marked `offline`). */
export interface QueuedStanza {
  seq: number;
  tag: string | null;
  stanza_id: string | null;
  node: Buffer;
  /** How many times it went out (live or offline) without an answer yet. */
  sends: number;
}

export interface SandboxEvent {
  at: string;
  kind: string;
  detail: Record<string, string | number | boolean | null>;
}

/** Everything the simulated world persists, in the object's SQLite (tables: world.schema.ts, migrated before this is built). */
export class WorldStore {
  readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  getMeta(key: string): Buffer | undefined {
    return this.sql.one<{ value: Buffer }>(`SELECT value FROM meta WHERE key = ?`, key)?.value;
  }

  setMeta(key: string, value: Uint8Array): void {
    this.sql.run(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, key, value);
  }

  // phones
  insertPhone(p: PhoneRow): void {
    this.sql.run(
      `INSERT INTO phones (phone, lid, name, reg_id, identity_priv, identity_pub, spk_id, spk_priv, spk_pub, spk_sig,
        next_prekey_id, next_device, next_key_index, receipt_policy, banned, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      p.phone, p.lid, p.name, p.reg_id, p.identity_priv, p.identity_pub, p.spk_id, p.spk_priv, p.spk_pub, p.spk_sig,
      p.next_prekey_id, p.next_device, p.next_key_index, p.receipt_policy, p.banned, p.created_at,
    );
  }
  phone(phone: string): PhoneRow | undefined {
    return this.sql.one<PhoneRow>(`SELECT * FROM phones WHERE phone = ?`, phone);
  }
  phoneByLid(lid: string): PhoneRow | undefined {
    return this.sql.one<PhoneRow>(`SELECT * FROM phones WHERE lid = ?`, lid);
  }
  phones(): PhoneRow[] {
    return this.sql.all<PhoneRow>(`SELECT * FROM phones ORDER BY created_at, phone`);
  }
  updatePhone(phone: string, fields: Partial<Pick<PhoneRow, "next_prekey_id" | "next_device" | "next_key_index" | "receipt_policy" | "banned">>): void {
    for (const [k, v] of Object.entries(fields)) this.sql.run(`UPDATE phones SET ${k} = ? WHERE phone = ?`, v, phone);
  }

  // the phones' own one-time prekeys
  addPhonePrekey(phone: string, keyId: number, priv: Uint8Array, pub: Uint8Array): void {
    this.sql.run(`INSERT INTO phone_prekeys (phone, key_id, priv, pub) VALUES (?,?,?,?)`, phone, keyId, priv, pub);
  }
  phonePrekey(phone: string, keyId: number): { priv: Buffer; pub: Buffer } | undefined {
    return this.sql.one(`SELECT priv, pub FROM phone_prekeys WHERE phone = ? AND key_id = ?`, phone, keyId);
  }
  removePhonePrekey(phone: string, keyId: number): void {
    this.sql.run(`DELETE FROM phone_prekeys WHERE phone = ? AND key_id = ?`, phone, keyId);
  }
  /** Hands out one unserved one-time prekey (the server gives each away once). */
  servePhonePrekey(phone: string): { key_id: number; pub: Buffer } | undefined {
    const row = this.sql.one<{ key_id: number; pub: Buffer }>(
      `SELECT key_id, pub FROM phone_prekeys WHERE phone = ? AND served = 0 ORDER BY key_id LIMIT 1`, phone);
    if (row) this.sql.run(`UPDATE phone_prekeys SET served = 1 WHERE phone = ? AND key_id = ?`, phone, row.key_id);
    return row;
  }
  unservedPhonePrekeys(phone: string): number {
    return Number(this.sql.one<{ n: number }>(`SELECT COUNT(*) AS n FROM phone_prekeys WHERE phone = ? AND served = 0`, phone)?.n ?? 0);
  }

  // companions (linked devices) and the prekeys they uploaded
  insertCompanion(c: CompanionRow): void {
    this.sql.run(
      `INSERT OR REPLACE INTO companions (phone, device, session_id, noise_pub, identity_pub, reg_id, skey_id, skey_pub, skey_sig,
        key_index, platform, status, history_synced, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      c.phone, c.device, c.session_id, c.noise_pub, c.identity_pub, c.reg_id, c.skey_id, c.skey_pub, c.skey_sig,
      c.key_index, c.platform, c.status, c.history_synced, c.created_at,
    );
  }
  companion(phone: string, device: number): CompanionRow | undefined {
    return this.sql.one<CompanionRow>(`SELECT * FROM companions WHERE phone = ? AND device = ?`, phone, device);
  }
  activeCompanions(phone: string): CompanionRow[] {
    return this.sql.all<CompanionRow>(`SELECT * FROM companions WHERE phone = ? AND status = 'active' ORDER BY device`, phone);
  }
  companionsOfSession(sessionId: string): CompanionRow[] {
    return this.sql.all<CompanionRow>(`SELECT * FROM companions WHERE session_id = ? ORDER BY created_at DESC`, sessionId);
  }
  allCompanions(): CompanionRow[] {
    return this.sql.all<CompanionRow>(`SELECT * FROM companions ORDER BY phone, device`);
  }
  updateCompanion(phone: string, device: number, fields: Partial<Pick<CompanionRow, "status" | "history_synced" | "skey_id" | "skey_pub" | "skey_sig">>): void {
    for (const [k, v] of Object.entries(fields)) this.sql.run(`UPDATE companions SET ${k} = ? WHERE phone = ? AND device = ?`, v, phone, device);
  }
  addCompanionPrekeys(phone: string, device: number, keys: { id: number; pub: Uint8Array }[]): void {
    for (const k of keys) {
      this.sql.run(`INSERT OR REPLACE INTO companion_prekeys (phone, device, key_id, pub) VALUES (?,?,?,?)`, phone, device, k.id, k.pub);
    }
  }
  takeCompanionPrekey(phone: string, device: number): { key_id: number; pub: Buffer } | undefined {
    const row = this.sql.one<{ key_id: number; pub: Buffer }>(
      `SELECT key_id, pub FROM companion_prekeys WHERE phone = ? AND device = ? ORDER BY key_id LIMIT 1`, phone, device);
    if (row) this.sql.run(`DELETE FROM companion_prekeys WHERE phone = ? AND device = ? AND key_id = ?`, phone, device, row.key_id);
    return row;
  }
  companionPrekeyCount(phone: string, device: number): number {
    return Number(this.sql.one<{ n: number }>(`SELECT COUNT(*) AS n FROM companion_prekeys WHERE phone = ? AND device = ?`, phone, device)?.n ?? 0);
  }
  clearCompanionPrekeys(phone: string, device: number): void {
    this.sql.run(`DELETE FROM companion_prekeys WHERE phone = ? AND device = ?`, phone, device);
  }

  // offline queue: every stanza for a linked device, kept until the device answers it (offline.ts)
  /** Stores a stanza for the device; `sent` when it goes out live now. Its seq. */
  queueStanza(phone: string, device: number, s: { tag: string; id: string | undefined; ackKey: string; node: Uint8Array; sent: boolean }): number {
    const row = this.sql.one<{ seq: number }>(
      `INSERT INTO pending_stanzas (phone, device, node, tag, stanza_id, ack_key, sends) VALUES (?,?,?,?,?,?,?) RETURNING seq`,
      phone, device, s.node, s.tag, s.id ?? null, s.ackKey, s.sent ? 1 : 0);
    return Number(row!.seq);
  }
  /** How many stanzas wait for the device, by tag (what the offline preview counts). */
  queuedByTag(phone: string, device: number): Record<string, number> {
    const counts: Record<string, number> = Object.create(null);
    for (const r of this.sql.all<{ tag: string | null; n: number }>(`SELECT tag, COUNT(*) AS n FROM pending_stanzas WHERE phone = ? AND device = ? GROUP BY tag`, phone, device)) {
      counts[r.tag ?? "unknown"] = Number(r.n);
    }
    return counts;
  }
  /** The next `limit` stored stanzas after `afterSeq`, oldest first. */
  queuedAfter(phone: string, device: number, afterSeq: number, limit: number): QueuedStanza[] {
    return this.sql.all<QueuedStanza>(
      `SELECT seq, tag, stanza_id, node, sends FROM pending_stanzas WHERE phone = ? AND device = ? AND seq > ? ORDER BY seq LIMIT ?`, phone, device, afterSeq, limit);
  }
  queuedCount(phone: string, device: number, afterSeq = 0): number {
    return Number(this.sql.one<{ n: number }>(`SELECT COUNT(*) AS n FROM pending_stanzas WHERE phone = ? AND device = ? AND seq > ?`, phone, device, afterSeq)?.n ?? 0);
  }
  /** A batch went out: every stored stanza in (fromSeq, toSeq] was sent once more. */
  markQueuedSent(phone: string, device: number, fromSeq: number, toSeq: number): void {
    this.sql.run(`UPDATE pending_stanzas SET sends = sends + 1 WHERE phone = ? AND device = ? AND seq > ? AND seq <= ?`, phone, device, fromSeq, toSeq);
  }
  dropQueued(seqs: number[]): void {
    if (seqs.length > 0) this.sql.run(`DELETE FROM pending_stanzas WHERE seq IN (${seqs.map(() => "?").join(",")})`, ...seqs);
  }
  /**
   * The device answered `tag`/`id`: one stanza it was sent on this socket (sends > 0, seq <= upTo)
   * is done, the oldest whose ack key matches (ackKey in offline.queue.ts) if any, else the oldest
   * with that tag and id. Its seq, if any.
   */
  answerQueued(phone: string, device: number, answer: { tag: string; id: string; ackKey?: string; upTo: number }): number | undefined {
    const row = this.sql.one<{ seq: number }>(
      `DELETE FROM pending_stanzas WHERE seq = (
         SELECT seq FROM pending_stanzas WHERE phone = ? AND device = ? AND tag = ? AND stanza_id = ? AND sends > 0 AND seq <= ?
         ORDER BY ack_key IS NOT ? , seq LIMIT 1) RETURNING seq`,
      phone, device, answer.tag, answer.id, answer.upTo, answer.ackKey ?? null);
    return row ? Number(row.seq) : undefined;
  }
  clearQueued(phone: string, device: number): void {
    this.sql.run(`DELETE FROM pending_stanzas WHERE phone = ? AND device = ?`, phone, device);
  }

  // inboxes
  upsertMessage(m: MessageRow): void {
    this.sql.run(
      `INSERT OR IGNORE INTO messages (owner, id, direction, peer, chat_jid, from_device, type, text, caption, media_sha256, mimetype, timestamp, delivered_at, read_at, extra, media_ref)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      m.owner, m.id, m.direction, m.peer, m.chat_jid, m.from_device, m.type, m.text, m.caption, m.media_sha256, m.mimetype, m.timestamp, m.delivered_at, m.read_at, m.extra, m.media_ref,
    );
  }
  message(owner: string, id: string, direction: "in" | "out"): MessageRow | undefined {
    return this.sql.one<MessageRow>(`SELECT * FROM messages WHERE owner = ? AND id = ? AND direction = ?`, owner, id, direction);
  }
  messages(owner: string): MessageRow[] {
    return this.sql.all<MessageRow>(`SELECT * FROM messages WHERE owner = ? ORDER BY timestamp, rowid`, owner);
  }
  markMessage(owner: string, id: string, direction: "in" | "out", field: "delivered_at" | "read_at", at: number): void {
    this.sql.run(`UPDATE messages SET ${field} = COALESCE(${field}, ?) WHERE owner = ? AND id = ? AND direction = ?`, at, owner, id, direction);
  }

  // media blobs (encrypted files as uploaded)
  putBlob(b: { id: string; media_type: string; enc_sha256: string; uploader: string }, data: Uint8Array, chunkSize: number): void {
    const chunks = Math.max(1, Math.ceil(data.length / chunkSize));
    for (let i = 0; i < chunks; i++) {
      this.sql.run(`INSERT OR REPLACE INTO media_chunks (id, seq, data) VALUES (?,?,?)`, b.id, i, data.subarray(i * chunkSize, (i + 1) * chunkSize));
    }
    this.sql.run(
      `INSERT OR REPLACE INTO media_blobs (id, media_type, enc_sha256, size, chunks, uploader, created_at) VALUES (?,?,?,?,?,?,?)`,
      b.id, b.media_type, b.enc_sha256, data.length, chunks, b.uploader, Date.now(),
    );
  }
  blobInfo(id: string): { id: string; media_type: string; enc_sha256: string; size: number; chunks: number; created_at: number } | undefined {
    return this.sql.one(`SELECT id, media_type, enc_sha256, size, chunks, created_at FROM media_blobs WHERE id = ?`, id);
  }
  blobData(id: string): Buffer | undefined {
    const info = this.blobInfo(id);
    if (!info) return undefined;
    const rows = this.sql.all<{ data: Buffer }>(`SELECT data FROM media_chunks WHERE id = ? ORDER BY seq`, id);
    if (rows.length !== info.chunks) return undefined;
    return Buffer.concat(rows.map((r) => r.data));
  }
  blobCount(): number {
    return Number(this.sql.one<{ n: number }>(`SELECT COUNT(*) AS n FROM media_blobs`)?.n ?? 0);
  }

  // durable schedule (receipts that must survive a restart), served by the object's alarm
  schedule(due: number, kind: string, payload: unknown): void {
    this.sql.run(`INSERT INTO schedule (due, kind, payload) VALUES (?,?,?)`, due, kind, JSON.stringify(payload));
  }
  nextDue(): number | undefined {
    return this.sql.one<{ due: number | null }>(`SELECT MIN(due) AS due FROM schedule`)?.due ?? undefined;
  }
  takeDue(now: number): { kind: string; payload: unknown }[] {
    const rows = this.sql.all<{ seq: number; kind: string; payload: string }>(`SELECT seq, kind, payload FROM schedule WHERE due <= ? ORDER BY due, seq`, now);
    for (const r of rows) this.sql.run(`DELETE FROM schedule WHERE seq = ?`, r.seq);
    return rows.map((r) => ({ kind: r.kind, payload: JSON.parse(r.payload) }));
  }
  scheduledCount(): number {
    return Number(this.sql.one<{ n: number }>(`SELECT COUNT(*) AS n FROM schedule`)?.n ?? 0);
  }

  log(kind: string, detail: unknown): void {
    this.sql.run(`INSERT INTO event_log (at, kind, detail) VALUES (?,?,?)`, Date.now(), kind, JSON.stringify(detail));
    this.sql.run(`DELETE FROM event_log WHERE seq <= (SELECT MAX(seq) - 500 FROM event_log)`);
  }
  events(limit = 100): SandboxEvent[] {
    return this.sql
      .all<{ at: number; kind: string; detail: string }>(`SELECT at, kind, detail FROM event_log ORDER BY seq DESC LIMIT ?`, limit)
      .map((r) => ({ at: new Date(r.at).toISOString(), kind: r.kind, detail: JSON.parse(r.detail) as SandboxEvent["detail"] }))
      .reverse();
  }
}
