import type { Buffer } from "node:buffer";
import type { SqlExec } from "../platform/sql";
import { fixBufferWrites } from "../runtime/buffer-compat";
import { type ConnectionHost, ServerConnection, type Transport } from "./connection";
import { Driver } from "./driver";
import { SandboxError } from "./errors";
import { FaultsHandler } from "./faults.handler";
import { type IqHandler, iqTable, routeIq } from "./iq.router";
import { LinkingHandler } from "./linking.handler";
import { onMediaRetryRequest } from "./mediaretry.handler";
import { onClientMessage, onClientReceipt, registerMessaging } from "./messaging.handler";
import { PresenceHandler } from "./presence.handler";
import { ackKeyOfAnswer } from "./offline.queue";
import { type CoreOptions, ServerCore } from "./server.core";
import { type BinaryNode, child, children, iqResult, node } from "./stanzas";

// protobufjs encodes long strings through a Buffer method workerd gets wrong (see buffer-compat).
fixBufferWrites();

type StanzaHandler = (conn: ServerConnection, stanza: BinaryNode) => void | Promise<void>;

/**
 * The simulated WhatsApp server: composes the core, the protocol handlers and the driver, and
 * dispatches each stanza a client sends (by tag; iqs by xmlns, see iq.router.ts). Runtime-agnostic:
 * the Durable Object hosts it.
 */
export class SandboxWorld implements ConnectionHost {
  readonly core: ServerCore;
  readonly faults: FaultsHandler;
  readonly linking: LinkingHandler;
  readonly driver: Driver;
  /** Presence and chat states (presence.handler.ts); the driver routes reach it too. */
  readonly presence: PresenceHandler;
  private readonly iqs: ReadonlyMap<string, IqHandler>;
  private readonly stanzas: ReadonlyMap<string, StanzaHandler>;

  constructor(sql: SqlExec, options: CoreOptions = {}) {
    this.core = new ServerCore(sql, options);
    this.faults = new FaultsHandler(this.core);
    this.linking = new LinkingHandler(this.core);
    this.driver = new Driver(this.core, this.linking, this.faults);
    this.presence = new PresenceHandler(this.core);
    registerMessaging(this.core);
    this.iqs = iqTable(this.linking);
    this.stanzas = new Map<string, StanzaHandler>([
      ["iq", (conn, iq) => this.onIq(conn, iq)],
      // A message before login has no sender to decrypt for.
      ["message", (conn, stanza) => (conn.account ? onClientMessage(this.core, conn, stanza) : undefined)],
      ["receipt", (conn, stanza) => this.onReceipt(conn, stanza)],
      ["ack", (conn, ack) => this.core.answered(conn, ack.attrs.class, [ack.attrs.id], ackKeyOfAnswer(ack))],
      ["presence", (conn, stanza) => this.presence.onPresence(conn, stanza)],
      ["chatstate", (conn, stanza) => this.presence.onChatState(conn, stanza)],
      ["ib", (conn, ib) => this.core.offline.onIb(conn, ib)],
      ["call", (conn, stanza) => conn.send(node("ack", { id: stanza.attrs.id, class: "call", from: stanza.attrs.to }))],
    ]);
  }

  get serverStatic() {
    return this.core.serverStatic;
  }

  get certChain(): Buffer {
    return this.core.certChain;
  }

  log(kind: string, detail: unknown): void {
    this.core.log(kind, detail);
  }

  accept(sessionId: string, transport: Transport, mediaHost?: string | null): ServerConnection {
    if (!sessionId) throw new SandboxError("the socket needs a session query parameter", 422);
    const conn = new ServerConnection(this, transport, sessionId);
    this.core.useMediaHost(conn, mediaHost);
    return conn;
  }

  onClientPayload(conn: ServerConnection, clientStatic: Buffer, bytes: Buffer): Promise<void> {
    return this.linking.onClientPayload(conn, clientStatic, bytes);
  }

  async onNode(conn: ServerConnection, stanza: BinaryNode): Promise<void> {
    const handler = this.stanzas.get(stanza.tag);
    if (handler) return handler(conn, stanza);
    this.core.log("unknown_stanza", { session: conn.sessionId, tag: stanza.tag, attrs: stanza.attrs });
  }

  private onIq(conn: ServerConnection, iq: BinaryNode): void | Promise<void> {
    if (iq.attrs.type === "result" || iq.attrs.type === "error") return; // replies nobody waits for (pair-device ack)
    // A pairing socket may only pair: everything else gets an empty result.
    if (conn.state === "registering" && iq.attrs.xmlns !== "md") return conn.send(iqResult(iq));
    return routeIq(this.core, this.iqs, conn, iq);
  }

  /**
   * Type server-error: a media re-upload request for the sender's phone. Any other receipt also
   * answers the messages it names (Baileys sends one instead of an ack for a message it decrypted).
   */
  private onReceipt(conn: ServerConnection, receipt: BinaryNode): void | Promise<void> {
    if (receipt.attrs.type === "server-error") return onMediaRetryRequest(this.core, conn, receipt);
    this.core.answered(conn, "message", [receipt.attrs.id, ...children(child(receipt, "list"), "item").map((i) => i.attrs.id)]);
    return onClientReceipt(this.core, conn, receipt);
  }

  onClosed(conn: ServerConnection): void {
    this.core.closed(conn);
    this.presence.onClosed(conn);
  }
}
