import type { BaileysEventMap, WAMessage, WASocket } from "baileys";
import { DisconnectReason } from "baileys";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { SentStore } from "../../src/session/sent-store";
import { BaileysHost } from "../../src/session/baileys-host";

// Drives the real Baileys client (inside a SessionObject, via runInDurableObject) against the
// account's SandboxObject, reconnecting the way a session does.

export type Events = Partial<BaileysEventMap>;

export interface Client {
  host: BaileysHost;
  batches: Events[];
  closes: (number | undefined)[];
  qrs: string[];
  opens: number;
  socket(): WASocket;
}

export const sandboxOf = (accountId: string) => env.SANDBOX_WORLD.get(env.SANDBOX_WORLD.idFromName(accountId));
export const sessionOf = (sessionId: string) => env.SESSION.get(env.SESSION.idFromName(sessionId));
export const poll = { timeout: 20_000, interval: 25 };

const RECONNECT = new Set<number | undefined>([DisconnectReason.restartRequired, DisconnectReason.connectionClosed, DisconnectReason.connectionLost]);

export function startClient(storage: DurableObjectStorage, accountId: string, sessionId: string, onQr?: (qr: string, c: Client) => void): Client {
  const client: Client = {
    host: undefined as unknown as BaileysHost,
    batches: [],
    closes: [],
    qrs: [],
    opens: 0,
    socket: () => client.host.socket!,
  };
  client.host = new BaileysHost({
    env,
    storage,
    destination: { kind: "sandbox", accountId, sessionId },
    logLevel: "silent",
    sent: new SentStore(storage.sql),
    onEvents: (events) => {
      client.batches.push(events);
      const update = events["connection.update"];
      if (update?.qr) {
        client.qrs.push(update.qr);
        onQr?.(update.qr, client);
      }
      if (update?.connection === "open") client.opens++;
      if (update?.connection === "close") {
        const code = (update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;
        client.closes.push(code);
        if (RECONNECT.has(code)) client.host.start();
      }
    },
  });
  client.host.start();
  return client;
}

/** QR-links a fresh session to `phone` and waits until Baileys is open. */
export async function linkByQr(storage: DurableObjectStorage, accountId: string, sessionId: string, phone: string): Promise<Client> {
  const sandbox = sandboxOf(accountId);
  let scanned = false;
  const client = startClient(storage, accountId, sessionId, (qr) => {
    if (scanned) return;
    scanned = true;
    void sandbox.scan(sessionId, phone, qr);
  });
  await expect.poll(() => client.opens, poll).toBe(1);
  return client;
}

export const upserts = (c: Client): WAMessage[] => c.batches.flatMap((b) => b["messages.upsert"]?.messages ?? []);
export const upsert = (c: Client, id: string): WAMessage | undefined => upserts(c).find((m) => m.key.id === id && m.message);
export const statusOf = (c: Client, id: string): number[] =>
  c.batches.flatMap((b) => [
    ...(b["messages.update"] ?? []).filter((u) => u.key.id === id && u.update.status != null).map((u) => u.update.status as number),
    ...(b["messages.upsert"]?.messages ?? []).filter((m) => m.key.id === id && m.status != null).map((m) => m.status as number),
  ]);

/** Deterministic test bytes of a given size. */
export function bytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export async function sha256Hex(data: Uint8Array): Promise<string> {
  return Buffer.from(await crypto.subtle.digest("SHA-256", data)).toString("hex");
}
