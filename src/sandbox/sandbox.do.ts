import { DurableObject } from "cloudflare:workers";
import { rpcError, type RpcErrorStatus } from "../domain/rpc-error";
import { SandboxError } from "./errors";
import type { FaultKind } from "./faults";
import type { ReceiptPolicy } from "./phones";
import { type FaultOptions, type GroupMessage, type PhoneMessage, SandboxWorld } from "./sandbox.world";

/**
 * One object per account: a WhatsApp server simulator (the real multi-device protocol) and its
 * simulated phones. Sessions connect with `fetch("https://sandbox/ws/chat?session=<id>")` + Upgrade;
 * the driver operations below are its RPC surface. All state lives in this object's SQLite.
 */
export class SandboxObject extends DurableObject<Env> {
  private readonly world: SandboxWorld;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.world = new SandboxWorld(ctx.storage.sql, {
      // One alarm serves the whole schedule table: always the earliest due job.
      setAlarm: (at) => void ctx.storage.setAlarm(at),
    });
  }

  async alarm(): Promise<void> {
    this.world.runDue();
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    // Media host traffic (uploads, downloads), routed here by the session's media target.
    if (url.pathname.startsWith("/mms/") || url.pathname.startsWith("/v/")) return this.world.media.handle(request);
    if (url.pathname !== "/ws/chat") return new Response("not found", { status: 404 });
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    const sessionId = url.searchParams.get("session");
    if (!sessionId) return new Response("missing session parameter", { status: 400 });
    const refused = this.world.takeUpgradeFault(sessionId);
    // A closed port: the caller's fetch rejects, as a refused TCP connection does.
    if (refused?.kind === "refuse") throw new Error("connect ECONNREFUSED (sandbox fault refuse_upgrade)");
    if (refused?.kind === "http_error") return new Response("sandbox fault http_error", { status: refused.status });
    const [client, server] = Object.values(new WebSocketPair());
    // Binary frames must arrive as ArrayBuffer, not Blob.
    server.binaryType = "arraybuffer";
    server.accept();
    const conn = this.world.accept(sessionId, {
      send: (data) => server.send(data),
      close: (code, reason) => server.close(code, reason),
    }, url.searchParams.get("media_host"));
    server.addEventListener("message", (event) => {
      if (typeof event.data !== "string") void conn.onData(new Uint8Array(event.data as ArrayBuffer));
    });
    server.addEventListener("close", () => conn.onTransportClosed());
    server.addEventListener("error", () => conn.onTransportClosed());
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Root public key sandbox sockets must trust (32 bytes, the form of WA_CERT_DETAILS.PUBLIC_KEY). */
  async trustRoot(): Promise<Uint8Array> {
    return this.world.trustRoot();
  }

  async createPhone(opts: { phone_number?: string; name?: string; receipt_policy?: Partial<ReceiptPolicy> } = {}) {
    return rpc(() => this.world.createPhone(opts));
  }

  async listPhones() {
    return rpc(() => this.world.listPhones());
  }

  async getPhone(phoneNumber: string) {
    return rpc(() => this.world.getPhone(phoneNumber));
  }

  /** `qr` is the QR string the session currently shows (the client's `connection.update.qr`). */
  async scan(sessionId: string, phoneNumber: string, qr: string) {
    return rpc(() => this.world.scan(sessionId, phoneNumber, qr));
  }

  async enterPairingCode(phoneNumber: string, code: string) {
    return rpc(() => this.world.enterPairingCode(phoneNumber, code));
  }

  /** text, image/video/audio/document/sticker (base64 or bytes), location; see PhoneMessage. */
  async sendMessage(fromPhone: string, message: PhoneMessage) {
    return rpc(() => this.world.sendMessage(fromPhone, message));
  }

  async inbox(phoneNumber: string) {
    return rpc(() => this.world.inbox(phoneNumber));
  }

  /** The decrypted file of a media message a phone holds (checked against its hashes). */
  async downloadMedia(phoneNumber: string, messageId: string) {
    return rpc(() => this.world.downloadMedia(phoneNumber, messageId));
  }

  async createGroup(ownerPhone: string, opts: { subject: string; members: string[] }) {
    return rpc(() => this.world.createGroup(ownerPhone, opts));
  }

  async getGroup(groupJid: string) {
    return rpc(() => this.world.getGroup(groupJid));
  }

  async sendGroupMessage(fromPhone: string, groupJid: string, message: GroupMessage) {
    return rpc(() => this.world.sendGroupMessage(fromPhone, groupJid, message));
  }

  /** Jobs (automatic receipts) waiting for the alarm; for tests and debugging. */
  async scheduledJobs() {
    return this.world.scheduledJobs();
  }

  async sendReceipts(phoneNumber: string, ids: string[], type: "delivered" | "read") {
    return rpc(() => this.world.sendReceipts(phoneNumber, ids, type));
  }

  async setReceiptPolicy(phoneNumber: string, policy: Partial<ReceiptPolicy>) {
    return rpc(() => this.world.setReceiptPolicy(phoneNumber, policy));
  }

  async fault(sessionId: string, kind: FaultKind, opts: FaultOptions = {}) {
    const result = await rpc(() => this.world.fault(sessionId, kind, opts));
    // `reset`: the server process dies. Every socket of this object breaks without a close
    // frame (the clients see an abnormal closure, 1006); state in SQLite survives. After the
    // answer is on its way, so the driver call itself succeeds.
    if (kind === "reset") setTimeout(() => this.ctx.abort("sandbox fault: reset"), 50);
    return result;
  }

  async sockets() {
    return this.world.sockets();
  }

  async events(limit = 100) {
    return this.world.events(limit);
  }
}

/** Sandbox errors cross RPC with their status (see src/domain/rpc-error.ts). */
async function rpc<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SandboxError) throw rpcError(err.status as RpcErrorStatus, err.message);
    throw err;
  }
}
