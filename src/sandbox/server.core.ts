import { Buffer } from "node:buffer";
import { Sql, type SqlExec } from "../platform/sql";
import { issueCertChain } from "./certificates";
import { AckLedger, UNACKED_TIMEOUT_MS } from "./acks";
import type { AckPolicy, ServerConnection } from "./connection";
import { type KeyPair, generateKeyPair, random } from "./crypto";
import { ackStreamError } from "./faults";
import { GroupStore } from "./groups";
import { DEFAULT_MEDIA_HOST, MediaServer, validMediaHost } from "./media";
import { OfflineDelivery } from "./offline";
import { ackKey, isOwed, offlineCopy } from "./offline.queue";
import { type BinaryNode, node, parseJid, unixNow } from "./stanzas";
import { migrateWorld } from "./world.schema";
import { type CompanionRow, type PhoneRow, WorldStore } from "./world.store";

export interface CoreOptions {
  /** Arms the host's alarm for the earliest scheduled job (the Durable Object's single alarm). */
  setAlarm?: (at: number) => void;
  /** Runs the schema migration as one unit (the Durable Object's `storage.transactionSync`). */
  transaction?: <T>(fn: () => T) => T;
}

/** A durable job kind's runner (e.g. an automatic receipt), registered by the handler that owns it. */
export type JobRunner = (payload: unknown) => void;

/** Runs once a login is complete (success and offline stanzas sent), e.g. a fault waiting for logins. */
export type LoginListener = (conn: ServerConnection) => void;

/**
 * Asked before a linked device's login is accepted: the stanza that answers it instead of
 * `<success>` (a `<failure>` or a stream error), or undefined to let it through.
 */
export type LoginGate = (conn: ServerConnection, phone: string, device: number) => BinaryNode | undefined;

const deviceKey = (phone: string, device: number) => `${phone}:${device}`;

/**
 * The server core every protocol handler builds on: the store, root keys, live connections by
 * session and by device, deliver-and-keep (offline.ts), message acks, the durable schedule, the
 * event log and user resolution. It knows no protocol area; handlers register what they need (job runners,
 * login listeners), so no handler calls another.
 */
export class ServerCore {
  readonly store: WorldStore;
  readonly root: KeyPair;
  readonly serverStatic: KeyPair;
  readonly certChain: Buffer;
  readonly media: MediaServer;
  readonly groups: GroupStore;
  /** The offline phase of each login: preview, batches, end marker (offline.ts). */
  readonly offline: OfflineDelivery;
  private readonly bySession = new Map<string, ServerConnection>();
  private readonly byDevice = new Map<string, ServerConnection>();
  private readonly ackPolicies = new Map<string, AckPolicy>();
  private readonly mediaHosts = new WeakMap<ServerConnection, string>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly jobs = new Map<string, JobRunner>();
  private readonly loginListeners: LoginListener[] = [];
  private readonly loginGates: LoginGate[] = [];
  private readonly setAlarm: (at: number) => void;
  /** Fault `mediaretry_unanswered`: sessions whose media re-upload requests no phone answers. */
  readonly unansweredMediaRetries = new Set<string>();
  /** Fault `unacked_timeout`: how long a session's client may leave a stanza unanswered. */
  readonly unackedTimeouts = new Map<string, number>();
  /** Fault `lose_acks`: how many of a session's next answers are lost on the way. */
  readonly lostAcks = new Map<string, number>();
  /** Fault `require_tctoken`: sessions whose 1:1 messages need a trusted-contact token (463 without). */
  readonly tokenRequired = new Set<string>();
  /** Fault `undecryptable`: how many of a session's next 1:1 messages the recipient phone fails to decrypt. */
  readonly undecryptable = new Map<string, number>();

  constructor(sql: SqlExec, options: CoreOptions = {}) {
    this.setAlarm = options.setAlarm ?? (() => {});
    migrateWorld(sql, { transaction: options.transaction });
    this.store = new WorldStore(new Sql(sql));
    let secret = this.store.getMeta("media_secret");
    if (!secret) {
      secret = random(32);
      this.store.setMeta("media_secret", secret);
    }
    this.media = new MediaServer(this.store, secret);
    this.groups = new GroupStore(this.store);
    this.offline = new OfflineDelivery({ store: this.store, log: (kind, detail) => this.log(kind, detail), complete: (conn) => this.loginComplete(conn) });
    this.root = this.keyPair("root");
    this.serverStatic = this.keyPair("server_static");
    let chain = this.store.getMeta("cert_chain");
    if (!chain) {
      chain = issueCertChain(this.root, this.serverStatic.pub);
      this.store.setMeta("cert_chain", chain);
    }
    this.certChain = chain;
    // Jobs due while the object was away run as soon as the alarm fires.
    this.armAlarm();
  }

  private keyPair(name: string): KeyPair {
    const pub = this.store.getMeta(`${name}_pub`);
    const priv = this.store.getMeta(`${name}_priv`);
    if (pub && priv) return { pub, priv };
    const kp = generateKeyPair();
    this.store.setMeta(`${name}_pub`, kp.pub);
    this.store.setMeta(`${name}_priv`, kp.priv);
    return kp;
  }

  /** The root public key clients must trust for sandbox sockets (32 bytes, like WA_CERT_DETAILS.PUBLIC_KEY). */
  trustRoot(): Uint8Array {
    return new Uint8Array(this.root.pub);
  }

  log(kind: string, detail: unknown): void {
    this.store.log(kind, detail);
  }

  events(limit = 100) {
    return this.store.events(limit);
  }

  /** A phone by its digits (what group nodes and answers look members up with). */
  readonly phoneRow = (phone: string): PhoneRow | undefined => this.store.phone(phone);

  // ---- connections ----

  /** Remembers the media host a connecting session routes to this object. */
  useMediaHost(conn: ServerConnection, mediaHost: string | null | undefined): void {
    const host = validMediaHost(mediaHost);
    if (!host) return;
    this.mediaHosts.set(conn, host);
    // Media the phones send names this host; every session of the account routes the same one.
    if (this.store.getMeta("media_host")?.toString() !== host) this.store.setMeta("media_host", Buffer.from(host));
  }

  /** The host a client uploads to and downloads from (its session routes it to this object). */
  mediaHost(conn?: ServerConnection): string {
    return (conn && this.mediaHosts.get(conn)) ?? this.store.getMeta("media_host")?.toString() ?? DEFAULT_MEDIA_HOST;
  }

  /** The session's current socket (registering or logged in), if any. */
  bySessionId(sessionId: string): ServerConnection | undefined {
    return this.bySession.get(sessionId);
  }

  /** The socket a linked device is logged in on, if any. */
  byDeviceOf(phone: string, device: number): ServerConnection | undefined {
    return this.byDevice.get(deviceKey(phone, device));
  }

  /** Sockets of every session, newest registration per session. */
  connections(): ServerConnection[] {
    return [...this.bySession.values()];
  }

  registered(conn: ServerConnection): void {
    this.bySession.set(conn.sessionId, conn);
  }

  loggedIn(conn: ServerConnection, phone: string, device: number): void {
    // From now on every message, receipt and notification sent is owed an answer (acks.ts).
    conn.ledger = new AckLedger(this.unackedTimeouts.get(conn.sessionId) ?? UNACKED_TIMEOUT_MS, (tag, id) => {
      // Runs from a bare timer: a socket already gone must not throw out of it.
      if (conn.state === "closed") return;
      this.log("unacked_stream_error", { session: conn.sessionId, tag, id });
      try {
        conn.end(ackStreamError(id, tag));
      } catch (err) {
        this.log("timer_error", { error: String(err) });
      }
    });
    this.byDevice.set(deviceKey(phone, device), conn);
    this.bySession.set(conn.sessionId, conn);
  }

  onLogin(listener: LoginListener): void {
    this.loginListeners.push(listener);
  }

  gateLogins(gate: LoginGate): void {
    this.loginGates.push(gate);
  }

  /** The first gate's refusal of this login, if any (see LoginGate). */
  loginRefusal(conn: ServerConnection, phone: string, device: number): BinaryNode | undefined {
    for (const gate of this.loginGates) {
      const refusal = gate(conn, phone, device);
      if (refusal) return refusal;
    }
    return undefined;
  }

  /** The login is complete (after `<success>` and the offline stanzas): listeners run in order. */
  loginComplete(conn: ServerConnection): void {
    for (const listener of this.loginListeners) listener(conn);
  }

  closed(conn: ServerConnection): void {
    // What it was sent and did not answer stays stored: the next login sends it again.
    this.offline.closed(conn);
    if (this.bySession.get(conn.sessionId) === conn) this.bySession.delete(conn.sessionId);
    if (conn.account && this.byDevice.get(deviceKey(conn.account.phone, conn.account.device)) === conn) {
      this.byDevice.delete(deviceKey(conn.account.phone, conn.account.device));
    }
  }

  /** Live sockets, for debugging and tests. */
  sockets() {
    return this.connections().map((c) => ({ session_id: c.sessionId, state: c.state, phone_number: c.account?.phone ?? null, device: c.account?.device ?? null, unacked: c.ledger?.count ?? 0 }));
  }

  /**
   * Sends now if that companion is connected and past its offline phase; either way a stanza the
   * device must answer is stored until it does (offline.ts), so one unanswered when its socket
   * closes goes out again at the next login, marked `offline`, as real servers redeliver.
   * A device that is not connected is kept for only while it is still linked.
   */
  deliver(phone: string, device: number, stanza: BinaryNode): void {
    const conn = this.byDevice.get(deviceKey(phone, device));
    const live = conn !== undefined && conn.state === "open" && this.offline.isLive(conn);
    if (!live && this.store.companion(phone, device)?.status !== "active") return;
    if (!live || isOwed(stanza.tag, stanza.attrs.id)) {
      this.store.queueStanza(phone, device, { tag: stanza.tag, id: stanza.attrs.id, ackKey: ackKey(stanza.tag, stanza.attrs), node: offlineCopy(stanza), sent: live });
    }
    if (live) conn.send(stanza);
  }

  // ---- acks ----

  /**
   * The client answered a stanza it was sent (`<ack>`, or a `<receipt>` for a message), unless a
   * fault loses it: no longer owed on this socket, and no longer kept for a redelivery. `answerKey`:
   * what an `<ack>` echoed of the stanza (offline.queue.ts ackKey), to tell apart stanzas sharing an id.
   */
  answered(conn: ServerConnection, tag: string | undefined, ids: (string | undefined)[], answerKey?: string): void {
    const lost = this.lostAcks.get(conn.sessionId) ?? 0;
    if (lost > 0) {
      this.lostAcks.set(conn.sessionId, lost - 1);
      this.log("ack_lost", { session: conn.sessionId, tag, id: ids[0] });
      return;
    }
    for (const id of ids) {
      conn.ledger?.answered(tag, id);
      if (!conn.account || !tag || !id) continue;
      // Only a stanza this socket was sent can be answered on it.
      const upTo = this.offline.sentUpTo(conn);
      const seq = this.store.answerQueued(conn.account.phone, conn.account.device, { tag, id, ackKey: answerKey, upTo });
      if (seq !== undefined) this.offline.answered(conn, seq);
    }
  }

  setAckPolicy(sessionId: string, policy: AckPolicy | undefined): void {
    if (policy) this.ackPolicies.set(sessionId, policy);
    else this.ackPolicies.delete(sessionId);
  }

  /** The error code the server refuses this session's messages with (fault `refuse_acks`), if any. */
  refusalOf(conn: ServerConnection): string | undefined {
    const policy = this.ackPolicies.get(conn.sessionId);
    return policy?.mode === "refuse" ? policy.code : undefined;
  }

  /** The server's ack of a client message, as the session's ack fault says (held, refused or at once). */
  ackMessage(conn: ServerConnection, stanza: BinaryNode, error?: string): void {
    const policy = this.ackPolicies.get(conn.sessionId) ?? { mode: "normal" };
    const attrs: Record<string, string> = { class: "message", id: stanza.attrs.id, from: stanza.attrs.to, t: String(unixNow()) };
    if (policy.mode === "refuse") attrs.error = policy.code;
    if (error) attrs.error = error;
    const send = () => conn.send(node("ack", attrs));
    if (policy.mode === "delay") this.later(policy.ms, send);
    else send();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      try {
        fn();
      } catch (err) {
        this.log("timer_error", { error: String(err) });
      }
    }, ms);
    this.timers.add(t);
  }

  // ---- the durable schedule ----

  onJob(kind: string, run: JobRunner): void {
    this.jobs.set(kind, run);
  }

  /** Jobs are rows in the schedule table, so a restart does not lose them. */
  schedule(due: number, kind: string, payload: unknown): void {
    this.store.schedule(due, kind, payload);
  }

  armAlarm(): void {
    const next = this.store.nextDue();
    if (next != null) this.setAlarm(next);
  }

  /** Runs every job that is due (the alarm handler); returns how many ran. */
  runDue(now = Date.now()): number {
    const jobs = this.store.takeDue(now);
    for (const job of jobs) {
      const run = this.jobs.get(job.kind);
      // No runner (a kind this build no longer has): the job is dropped, but not silently.
      if (!run) {
        this.log("unknown_job", { kind: job.kind, payload: job.payload });
        continue;
      }
      try {
        run(job.payload);
      } catch (err) {
        this.log("job_error", { kind: job.kind, error: String(err) });
      }
    }
    this.armAlarm();
    return jobs.length;
  }

  scheduledJobs(): number {
    return this.store.scheduledCount();
  }

  // ---- users and devices ----

  /** A user given as `123@s.whatsapp.net`, `456@lid`, or `+123`. */
  resolveUser(id: string): PhoneRow | undefined {
    const parsed = parseJid(id);
    if (parsed?.server === "lid") return this.store.phoneByLid(parsed.user);
    const digits = (parsed?.user ?? id).replace(/^\+/, "");
    return /^\d+$/.test(digits) ? this.store.phone(digits) : undefined;
  }

  companionOf(conn: ServerConnection): CompanionRow | undefined {
    return conn.account && this.store.companion(conn.account.phone, conn.account.device);
  }

  /** The server forgets a linked device: logged out, its prekeys and queued stanzas dropped. */
  unlink(c: CompanionRow): void {
    this.store.updateCompanion(c.phone, c.device, { status: "logged_out" });
    // An offline phase under way ends with it: no batch, end marker or login listeners for a logged-out device.
    const conn = this.byDevice.get(deviceKey(c.phone, c.device));
    if (conn) this.offline.unlinked(conn);
    this.store.clearCompanionPrekeys(c.phone, c.device);
    this.store.clearQueued(c.phone, c.device);
  }
}
