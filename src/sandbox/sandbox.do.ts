import { DurableObject } from "cloudflare:workers";
import type { z } from "zod";
import { rpcError, type RpcErrorStatus } from "../domain/rpc-error";
import {
  AddressBookInput,
  ClientScanInput,
  CreatePhoneInput,
  FaultInput,
  GroupJid,
  GroupParticipantAction,
  GroupParticipantsInput,
  GroupPatchInput,
  GroupRequestAction,
  GroupSpecInput,
  InviteLinkInput,
  JoinLinkInput,
  MessageContentRpcInput,
  PhonePatchInput,
  PairingCodeInput,
  PhoneChatActionInput,
  PhoneChatStateInput,
  PhonePresenceInput,
  PhoneMessageRpcInput,
  PhonePrivacyInput,
  PhoneProfileInput,
  ReceiptPolicyInput,
  ReceiptsInput,
  RetryReceiptsInput,
  parseInput,
} from "./driver.schemas";
import { ChatsDriver } from "./driver.chats";
import { ContactsDriver } from "./driver.contacts";
import { PrivacyDriver } from "./driver.privacy";
import { PresenceDriver } from "./driver.presence";
import { SandboxError } from "./errors";
import type { FaultKind } from "./faults";
import { SandboxWorld } from "./sandbox.world";

type In<S extends z.ZodType> = z.input<S>;

/**
 * One object per account: a WhatsApp server simulator (the real multi-device protocol) and its
 * simulated phones. Sessions connect with `fetch("https://sandbox/ws/chat?session=<id>")` + Upgrade;
 * the driver operations below are its RPC surface, their input parsed by the driver's schemas.
 * All state lives in this object's SQLite.
 */
export class SandboxObject extends DurableObject<Env> {
  private readonly world: SandboxWorld;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.world = new SandboxWorld(ctx.storage.sql, {
      // One alarm serves the whole schedule table: always the earliest due job.
      setAlarm: (at) => void ctx.storage.setAlarm(at),
      // The schema steps and their version row commit together, or not at all.
      transaction: (fn) => ctx.storage.transactionSync(fn),
    });
  }

  async alarm(): Promise<void> {
    this.world.core.runDue();
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    // Media host traffic (uploads, downloads), routed here by the session's media target.
    if (url.pathname.startsWith("/mms/") || url.pathname.startsWith("/v/")) return this.world.core.media.handle(request);
    if (url.pathname !== "/ws/chat") return new Response("not found", { status: 404 });
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    const sessionId = url.searchParams.get("session");
    if (!sessionId) return new Response("missing session parameter", { status: 400 });
    const refused = this.world.faults.takeUpgradeFault(sessionId);
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
    return this.world.core.trustRoot();
  }

  async createPhone(opts: In<typeof CreatePhoneInput> = {}) {
    return rpc(() => this.world.driver.createPhone(parseInput(CreatePhoneInput, opts)));
  }

  async listPhones() {
    return rpc(() => this.world.driver.listPhones());
  }

  async getPhone(phoneNumber: string) {
    return rpc(() => this.world.driver.getPhone(phoneNumber));
  }

  /** `qr` is the QR string the session currently shows (the client's `connection.update.qr`). */
  async scan(sessionId: string, phoneNumber: string, qr: string) {
    return rpc(() => {
      const input = parseInput(ClientScanInput, { phone_number: phoneNumber, qr });
      return this.world.driver.scan(sessionId, input.phone_number, input.qr);
    });
  }

  async enterPairingCode(phoneNumber: string, code: string) {
    return rpc(() => this.world.driver.enterPairingCode(phoneNumber, parseInput(PairingCodeInput, { code }).code));
  }

  /** text, image/video/audio/document/sticker (base64 or bytes), location; see driver.schemas.ts. */
  async sendMessage(fromPhone: string, message: In<typeof PhoneMessageRpcInput>) {
    return rpc(() => this.world.driver.sendMessage(fromPhone, parseInput(PhoneMessageRpcInput, message)));
  }

  async inbox(phoneNumber: string) {
    return rpc(() => this.world.driver.inbox(phoneNumber));
  }

  /** The decrypted file of a media message a phone holds (checked against its hashes). */
  async downloadMedia(phoneNumber: string, messageId: string) {
    return rpc(() => this.world.driver.downloadMedia(phoneNumber, messageId));
  }

  async createGroup(ownerPhone: string, opts: In<typeof GroupSpecInput>) {
    return rpc(() => this.world.driver.createGroup(ownerPhone, parseInput(GroupSpecInput, opts)));
  }

  async getGroup(groupJid: string) {
    return rpc(() => this.world.driver.getGroup(groupJid));
  }

  async sendGroupMessage(fromPhone: string, groupJid: string, message: In<typeof MessageContentRpcInput>) {
    return rpc(() => this.world.driver.sendGroupMessage(fromPhone, groupJid, parseInput(MessageContentRpcInput, message)));
  }

  /** The phone asks to join by `https://chat.whatsapp.com/<code>`: joined, or pending approval. */
  async joinGroupByLink(phoneNumber: string, link: string) {
    return rpc(() => this.world.driver.groups.joinByLink(phoneNumber, parseInput(JoinLinkInput, { link }).link));
  }

  async changeGroupParticipants(phoneNumber: string, groupJid: string, action: In<typeof GroupParticipantAction>, participants: string[]) {
    return rpc(() => this.world.driver.groups.participants(phoneNumber, parseInput(GroupJid, groupJid), parseInput(GroupParticipantAction, action),
      parseInput(GroupParticipantsInput, { participants }).participants));
  }

  async answerGroupRequests(phoneNumber: string, groupJid: string, action: In<typeof GroupRequestAction>, participants: string[]) {
    return rpc(() => this.world.driver.groups.answerRequests(phoneNumber, parseInput(GroupJid, groupJid), parseInput(GroupRequestAction, action),
      parseInput(GroupParticipantsInput, { participants }).participants));
  }

  async updateGroup(phoneNumber: string, groupJid: string, patch: In<typeof GroupPatchInput>) {
    return rpc(() => this.world.driver.groups.update(phoneNumber, parseInput(GroupJid, groupJid), parseInput(GroupPatchInput, patch)));
  }

  async groupInviteLink(phoneNumber: string, groupJid: string, opts: In<typeof InviteLinkInput> = {}) {
    return rpc(() => this.world.driver.groups.inviteLink(phoneNumber, parseInput(GroupJid, groupJid), !!parseInput(InviteLinkInput, opts).reset));
  }

  async updatePhone(phoneNumber: string, patch: In<typeof PhonePatchInput>) {
    return rpc(() => this.world.driver.updatePhone(phoneNumber, parseInput(PhonePatchInput, patch)));
  }

  /** Jobs (automatic receipts) waiting for the alarm; for tests and debugging. */
  async scheduledJobs() {
    return this.world.core.scheduledJobs();
  }

  async sendReceipts(phoneNumber: string, ids: string[], type: "delivered" | "read") {
    return rpc(() => this.world.driver.sendReceipts(phoneNumber, parseInput(ReceiptsInput, { ids, type })));
  }

  async sendRetryReceipts(phoneNumber: string, ids: string[]) {
    return rpc(() => this.world.driver.sendRetryReceipts(phoneNumber, parseInput(RetryReceiptsInput, { ids })));
  }

  async setReceiptPolicy(phoneNumber: string, policy: In<typeof ReceiptPolicyInput>) {
    return rpc(() => this.world.driver.setReceiptPolicy(phoneNumber, parseInput(ReceiptPolicyInput, policy)));
  }

  async fault(sessionId: string, kind: FaultKind, opts: Omit<In<typeof FaultInput>, "kind"> = {}) {
    const result = await rpc(() => this.world.driver.fault(sessionId, parseInput(FaultInput, { ...opts, kind })));
    // `reset`: the server process dies. Every socket of this object breaks without a close
    // frame (the clients see an abnormal closure, 1006); state in SQLite survives. After the
    // answer is on its way, so the driver call itself succeeds.
    if (kind === "reset") setTimeout(() => this.ctx.abort("sandbox fault: reset"), 50);
    return result;
  }

  async sockets() {
    return this.world.core.sockets();
  }

  async events(limit = 100) {
    return this.world.core.events(limit);
  }

  // ---- presence (driver.presence.ts) ----

  private get presence(): PresenceDriver {
    return new PresenceDriver(this.world.core, this.world.presence);
  }

  async phonePresence(phoneNumber: string) {
    return rpc(() => this.presence.view(phoneNumber));
  }

  async setPhonePresence(phoneNumber: string, input: In<typeof PhonePresenceInput>) {
    return rpc(() => this.presence.set(phoneNumber, parseInput(PhonePresenceInput, input).state));
  }

  async sendChatState(phoneNumber: string, input: In<typeof PhoneChatStateInput>) {
    return rpc(() => {
      const { to, state } = parseInput(PhoneChatStateInput, input);
      return this.presence.chatState(phoneNumber, to, state);
    });
  }

  async chatStatesSeen(phoneNumber: string) {
    return rpc(() => this.presence.seen(phoneNumber));
  }

  // ---- contacts (driver.contacts.ts) ----

  async setPhoneProfile(phoneNumber: string, input: In<typeof PhoneProfileInput>) {
    return rpc(() => new ContactsDriver(this.world.core).setProfile(phoneNumber, parseInput(PhoneProfileInput, input)));
  }

  async saveAddressBookContact(phoneNumber: string, contact: string, input: In<typeof AddressBookInput>) {
    return rpc(() => new ContactsDriver(this.world.core).saveContact(phoneNumber, contact, parseInput(AddressBookInput, input).name));
  }

  async phoneBlocklist(phoneNumber: string) {
    return rpc(() => new ContactsDriver(this.world.core).blocklist(phoneNumber));
  }

  async setPhoneBlocked(phoneNumber: string, contact: string, block: boolean) {
    return rpc(() => new ContactsDriver(this.world.core).setBlocked(phoneNumber, contact, block === true));
  }

  // ---- profile and privacy (driver.privacy.ts) ----

  async phoneOwnProfile(phoneNumber: string) {
    return rpc(() => new PrivacyDriver(this.world.core).profile(phoneNumber));
  }

  async setPhonePrivacy(phoneNumber: string, input: In<typeof PhonePrivacyInput>) {
    return rpc(() => new PrivacyDriver(this.world.core).setPrivacy(phoneNumber, parseInput(PhonePrivacyInput, input)));
  }

  // ---- chats (driver.chats.ts) ----

  async phoneAppState(phoneNumber: string) {
    return rpc(() => new ChatsDriver(this.world.core).view(phoneNumber));
  }

  async phoneChatAction(phoneNumber: string, input: In<typeof PhoneChatActionInput>) {
    return rpc(() => new ChatsDriver(this.world.core).act(phoneNumber, parseInput(PhoneChatActionInput, input)));
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
