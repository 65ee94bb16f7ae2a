import type { ServerConnection } from "./connection";
import { SandboxError } from "./errors";
import {
  type FaultKind,
  LOGIN_FAILURE_CODES,
  type LoginFailureCode,
  type LoginFault,
  type LoginRefusal,
  STREAM_ERROR_CODES,
  type StreamErrorCode,
  type UpgradeFault,
  banned,
  ackStreamError,
  deviceRemoved,
  loginFailure,
  notWellFormed,
  replaced,
  restartRequired,
  serviceUnavailable,
  streamEnd,
  streamError,
} from "./faults";
import type { ServerCore } from "./server.core";
import { type BinaryNode, serverId } from "./stanzas";

export interface FaultOptions {
  /** delay_acks: how long to hold each message ack. */
  ms?: number;
  /** refuse_acks: the error code put on each message ack; stream_error: which stream error (see STREAM_ERROR_CODES). */
  code?: string;
  /** refuse_upgrade, http_error: how many upgrades in a row fail (default 2); stream_error: how many logins end with it (default 1). */
  count?: number;
  /** http_error: the HTTP status answered to the upgrade (default 503). */
  status?: number;
  /** login_failure 402: seconds until the temporary ban ends (default 3600). */
  expire?: number;
  /** expire_media: lifetime in seconds of the direct paths issued from now on. */
  ttl?: number;
}

/**
 * Faults on command (docs/protocol/faults.md): what a real server does to a session's socket,
 * now (drop, stream errors, logout, ban) or on its next upgrades and logins.
 */
export class FaultsHandler {
  private readonly upgradeFaults = new Map<string, UpgradeFault>();
  private readonly loginFaults = new Map<string, LoginFault>();
  private readonly loginRefusals = new Map<string, LoginRefusal>();

  constructor(private readonly core: ServerCore) {
    core.onLogin((conn) => this.afterLogin(conn));
    core.gateLogins((conn, phone, device) => this.refuseLogin(conn, phone, device));
  }

  apply(sessionId: string, kind: FaultKind, opts: FaultOptions = {}) {
    const { core } = this;
    const conn = core.bySessionId(sessionId);
    const live = conn && conn.state !== "closed" ? conn : undefined;
    const companion = live?.account ? core.store.companion(live.account.phone, live.account.device) : core.store.companionsOfSession(sessionId)[0];
    const needLive = () => {
      if (!live) throw new SandboxError(`session ${sessionId} has no open socket`, 409);
      return live;
    };
    const needCompanion = () => {
      if (!companion) throw new SandboxError(`session ${sessionId} is not linked to any simulated phone`, 404);
      return companion;
    };
    switch (kind) {
      case "drop":
        needLive().close(4000, "dropped by sandbox");
        break;
      case "reset":
        // The host resets every socket of this object (see SandboxObject.fault); only checked here.
        needLive();
        break;
      case "silence":
      case "blackhole":
        // A dead path: the socket stays open and nothing comes back, not even a pong.
        needLive().silenced = true;
        break;
      case "stream_error_ack": {
        // Names a stanza this connection really owes an answer, else a fresh server id; then the
        // stream's end, as a real server closes it.
        const conn = needLive();
        const owed = conn.ledger?.oldest();
        const named = owed ?? { id: serverId(), tag: undefined };
        core.log("stream_error_ack", { session: sessionId, id: named.id, class: named.tag ?? null, owed: Boolean(owed) });
        conn.send(ackStreamError(named.id, named.tag));
        conn.end(streamEnd());
        break;
      }
      case "xml_not_well_formed":
        needLive().end(notWellFormed());
        break;
      case "stream_error_503":
        needLive().end(serviceUnavailable());
        break;
      case "xmlstreamend":
        needLive().end(streamEnd());
        break;
      case "refuse_upgrade":
      case "http_error": {
        const count = opts.count ?? 2;
        const status = opts.status ?? 503;
        const socket = needLive();
        this.upgradeFaults.set(sessionId, kind === "refuse_upgrade" ? { kind: "refuse", remaining: count } : { kind: "http_error", status, remaining: count });
        // The client finds out at its next connect: end this one as a server going away does.
        socket.close(1001, "going away");
        break;
      }
      case "stream_error": {
        const code = String(opts.code ?? "500") as StreamErrorCode;
        if (!STREAM_ERROR_CODES.includes(code)) throw new SandboxError(`code must be one of ${STREAM_ERROR_CODES.join(", ")}`, 422);
        const count = opts.count ?? 1;
        const socket = needLive();
        if (count > 1) this.loginFaults.set(sessionId, { code, remaining: count - 1 });
        // device_removed is an unlink: the server forgets the device before saying so.
        if (code === "device_removed") core.unlink(needCompanion());
        socket.end(streamError(code));
        break;
      }
      case "logout": {
        const c = needCompanion();
        core.unlink(c);
        core.byDeviceOf(c.phone, c.device)?.end(deviceRemoved());
        break;
      }
      case "ban": {
        const c = needCompanion();
        core.store.updatePhone(c.phone, { banned: 1 });
        for (const d of core.store.activeCompanions(c.phone)) core.byDeviceOf(d.phone, d.device)?.end(banned());
        break;
      }
      case "replaced":
        needLive().end(replaced());
        break;
      case "delay_acks":
        core.setAckPolicy(sessionId, { mode: "delay", ms: opts.ms ?? 5000 });
        break;
      case "refuse_acks":
        core.setAckPolicy(sessionId, { mode: "refuse", code: String(opts.code ?? "500") });
        break;
      case "normal_acks":
        core.setAckPolicy(sessionId, undefined);
        break;
      case "login_failure": {
        const code = Number(opts.code) as LoginFailureCode;
        if (!LOGIN_FAILURE_CODES.includes(code)) throw new SandboxError(`code must be one of ${LOGIN_FAILURE_CODES.join(", ")}`, 422);
        const socket = needLive();
        this.loginRefusals.set(sessionId, { kind: "failure", code, expire: opts.expire ?? 3600, remaining: opts.count ?? 1 });
        // A failure answers a login: end this stream as a server going away does, so the client logs in again.
        socket.close(1001, "going away");
        break;
      }
      case "expire_media":
        // With `ttl`: direct paths issued from now on expire after ttl seconds (their `oe`), account-wide
        // until the next `ttl`; `ttl` 2592000 (30 days, the default) resets it.
        // Without: the media host drops every file stored so far (410 from now on); phones keep theirs.
        if (opts.ttl) core.media.setTtl(opts.ttl);
        else core.media.expireStored();
        break;
      case "undecryptable":
        // The next `count` messages this session sends to a phone fail to decrypt there (default 1):
        // the phone asks for each again with a retry receipt (retries.ts).
        core.undecryptable.set(sessionId, (core.undecryptable.get(sessionId) ?? 0) + (opts.count ?? 1));
        break;
      case "require_tctoken":
        // A restricted account: 1:1 messages need the contact's trusted-contact token (tctoken.ts).
        core.tokenRequired.add(sessionId);
        break;
      case "unacked_timeout": {
        // How long this session's client may leave a stanza unanswered before the stream ends (acks.ts).
        const ms = opts.ms ?? 60_000;
        core.unackedTimeouts.set(sessionId, ms);
        if (live?.ledger) live.ledger.timeoutMs = ms;
        break;
      }
      case "lose_acks":
        // The client's next `count` answers never reach the server (default 1).
        core.lostAcks.set(sessionId, opts.count ?? 1);
        break;
      case "mediaretry_unanswered":
        // The senders' phones never answer this session's media re-upload requests (phone offline).
        core.unansweredMediaRetries.add(sessionId);
        break;
      case "restart_loop":
        this.loginRefusals.set(sessionId, { kind: "restart_loop", remaining: opts.count ?? 100 });
        needLive().end(restartRequired());
        break;
    }
    core.log("fault", { session: sessionId, kind, ...opts });
    return { session_id: sessionId, kind, applied: true as const };
  }

  /**
   * The fault (if any) the next upgrade of this session meets; each call uses one up.
   * null: accept the socket.
   */
  takeUpgradeFault(sessionId: string): UpgradeFault | null {
    const fault = this.upgradeFaults.get(sessionId);
    if (!fault) return null;
    if (--fault.remaining <= 0) this.upgradeFaults.delete(sessionId);
    this.core.log("upgrade_refused", { session: sessionId, kind: fault.kind, ...(fault.kind === "http_error" ? { status: fault.status } : {}) });
    return fault;
  }

  /** login_failure, restart_loop: the answer to a login instead of `<success>`; each login uses one up. */
  private refuseLogin(conn: ServerConnection, phone: string, device: number): BinaryNode | undefined {
    const refusal = this.loginRefusals.get(conn.sessionId);
    if (!refusal) return undefined;
    if (--refusal.remaining <= 0) this.loginRefusals.delete(conn.sessionId);
    const code = refusal.kind === "failure" ? refusal.code : 515;
    this.core.log("login_refused", { session: conn.sessionId, phone, device, reason: "fault", kind: refusal.kind, code });
    if (refusal.kind === "restart_loop") return restartRequired();
    // 406 is a logout for good (whatsmeow deletes its store): the server forgets the device too.
    const companion = refusal.code === 406 ? this.core.store.companion(phone, device) : undefined;
    if (companion) this.core.unlink(companion);
    return loginFailure(refusal.code, refusal.expire);
  }

  /** stream_error with a count: a server that accepts the login and drops it at once. */
  private afterLogin(conn: ServerConnection): void {
    const repeat = this.loginFaults.get(conn.sessionId);
    if (!repeat) return;
    if (--repeat.remaining <= 0) this.loginFaults.delete(conn.sessionId);
    conn.end(streamError(repeat.code));
  }
}
