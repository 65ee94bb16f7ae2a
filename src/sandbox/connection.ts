import type { Buffer } from "node:buffer";
import { encodeBinaryNode } from "baileys/lib/WABinary/index.js";
import type { AckLedger } from "./acks";
import { MalformedStanza, decodeFrame } from "./binary-decoder";
import type { KeyPair } from "./crypto";
import { notWellFormed } from "./faults";
import { FrameReader, encodeFrame } from "./frames";
import { NoiseServer } from "./noise.server";
import type { BinaryNode } from "./stanzas";

/** What a connection needs from the socket it runs on (a DO WebSocket, or a Node `ws` in a harness). */
export interface Transport {
  send(data: Uint8Array): void;
  close(code: number, reason: string): void;
}

export interface ConnectionHost {
  serverStatic: KeyPair;
  certChain: Buffer;
  onClientPayload(conn: ServerConnection, clientStatic: Buffer, payload: Buffer): Promise<void>;
  onNode(conn: ServerConnection, stanza: BinaryNode): Promise<void>;
  onClosed(conn: ServerConnection): void;
  log(kind: string, detail: unknown): void;
}

export type AckPolicy = { mode: "normal" } | { mode: "delay"; ms: number } | { mode: "refuse"; code: string };

export interface Registration {
  clientStatic: Buffer;
  identityPub: Buffer;
  regId: number;
  skeyId: number;
  skeyPub: Buffer;
  skeySig: Buffer;
  platform: string;
  refs: string[];
  codeRequest?: { phone: string; wrappedEphemeral: Buffer; ref: string };
}

let seq = 0;

/**
 * One client socket: framing and Noise in, binary nodes out. Runtime-agnostic; protocol decisions
 * are the host's. Frames are processed strictly in order (the Noise counters require it), but a
 * reply to a server-initiated iq resolves its waiter at once so a handler may await it.
 */
export class ServerConnection {
  readonly id = ++seq;
  state: "handshake" | "registering" | "open" | "closed" = "handshake";
  account: { phone: string; device: number } | undefined;
  registration: Registration | undefined;
  ackPolicy: AckPolicy = { mode: "normal" };
  /** Fault `silence`: the server stops answering (no pong, no acks) but keeps the socket open. */
  silenced = false;
  /** Once logged in: the stanzas this client still owes an answer (acks.ts). */
  ledger: AckLedger | undefined;
  private readonly reader = new FrameReader();
  private noise: NoiseServer | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly waiters = new Map<string, (n: BinaryNode) => void>();
  private closeListeners: (() => void)[] = [];
  private notifiedClose = false;

  constructor(private readonly host: ConnectionHost, private readonly transport: Transport, readonly sessionId: string) {}

  onData(data: Uint8Array): Promise<void> {
    this.chain = this.chain.then(() => this.process(data)).catch((err) => {
      this.host.log("connection_error", { session: this.sessionId, error: String(err?.stack ?? err) });
      this.close(4002, "protocol error");
    });
    return this.chain;
  }

  private async process(data: Uint8Array): Promise<void> {
    if (this.state === "closed" || this.silenced) return;
    for (const frame of this.reader.push(data)) {
      if (!this.noise) {
        this.noise = new NoiseServer(this.host.serverStatic, this.host.certChain, this.reader.prologue!);
        this.sendRaw(this.noise.respondToHello(frame));
      } else if (!this.noise.ready) {
        const { clientStatic, payload } = this.noise.finish(frame);
        await this.host.onClientPayload(this, clientStatic, payload);
      } else {
        const stanza = await this.decode(this.noise.decrypt(frame));
        if (!stanza) return;
        const waiter = stanza.tag === "iq" && (stanza.attrs.type === "result" || stanza.attrs.type === "error") ? this.waiters.get(stanza.attrs.id) : undefined;
        if (waiter) {
          this.waiters.delete(stanza.attrs.id);
          waiter(stanza);
        } else {
          await this.host.onNode(this, stanza);
        }
      }
    }
  }

  /**
   * A client frame through the sandbox's own decoder (binary-decoder.ts). One the format does not
   * allow ends the stream as real servers do: `<stream:error><xml-not-well-formed/></stream:error>`,
   * then close (live: yowsup #2139, Chat-API-NET #5; Baileys reads it as 500 badSession).
   */
  private async decode(plain: Uint8Array): Promise<BinaryNode | undefined> {
    try {
      return await decodeFrame(plain);
    } catch (err) {
      // Any other throw is a decoder bug, but the bytes were still unreadable: answer the same way.
      const reason = err instanceof MalformedStanza ? err.reason : `decoder error: ${String((err as Error)?.message ?? err)}`;
      const offset = err instanceof MalformedStanza ? err.offset : -1;
      this.host.log("malformed_stanza", { session: this.sessionId, reason, offset, bytes: plain.length });
      this.end(notWellFormed());
      return undefined;
    }
  }

  private sendRaw(payload: Uint8Array): void {
    if (this.state === "closed" || this.silenced) return;
    this.transport.send(encodeFrame(payload));
  }

  send(stanza: BinaryNode): void {
    if (this.state === "closed" || !this.noise?.ready) return;
    this.sendRaw(this.noise.encrypt(encodeBinaryNode(stanza)));
    if (!this.silenced) this.ledger?.sent(stanza);
  }

  /** Sends a node that was encoded earlier (offline queue). */
  sendEncoded(encoded: Uint8Array): void {
    if (this.state === "closed" || !this.noise?.ready) return;
    this.sendRaw(this.noise.encrypt(encoded));
    if (!this.silenced) this.ledger?.sentEncoded(encoded);
  }

  /** Sends a server-initiated iq and waits for the client's result. */
  query(stanza: BinaryNode, timeoutMs = 15_000): Promise<BinaryNode> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(stanza.attrs.id);
        reject(new Error(`no reply to ${stanza.attrs.xmlns ?? stanza.tag} iq within ${timeoutMs} ms`));
      }, timeoutMs);
      const onClose = () => {
        clearTimeout(timer);
        reject(new Error("connection closed while waiting for the client"));
      };
      this.closeListeners.push(onClose);
      this.waiters.set(stanza.attrs.id, (n) => {
        clearTimeout(timer);
        this.closeListeners = this.closeListeners.filter((l) => l !== onClose);
        resolve(n);
      });
      this.send(stanza);
    });
  }

  /** Sends a last stanza (stream error, failure) and closes, as the server does. */
  end(last: BinaryNode | undefined, code = 1000, reason = "closed"): void {
    if (last) this.send(last);
    this.close(code, reason);
  }

  close(code = 1000, reason = "closed"): void {
    if (this.state === "closed") return;
    this.state = "closed";
    try {
      this.transport.close(code, reason);
    } catch {
      // already closed by the peer
    }
    this.onTransportClosed();
  }

  /** The peer went away (or we closed). */
  onTransportClosed(): void {
    this.state = "closed";
    this.ledger?.clear();
    if (this.notifiedClose) return;
    this.notifiedClose = true;
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const l of listeners) l();
    this.host.onClosed(this);
  }

}
