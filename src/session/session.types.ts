import type { ConnectionMode, SessionStatus } from "../domain/session-status";

// What the API tells a session object when it is created (persisted in the object).
export interface SessionConfig {
  id: string;
  accountId: string;
  sessionId: string;
  sandbox: boolean;
  connectionMode: ConnectionMode;
  /** on_demand: close the socket after this long without work. */
  idleTimeoutMs: number;
  /** on_demand: wake this often to pull offline messages and receipts. */
  wakeIntervalMs: number;
  /** How long each QR code lives before the next one (WhatsApp: 60 s, then 20 s). */
  qrTimeoutMs?: number;
  /** "Browser (OS)" the socket announces (domain/browser.ts); unset: the WA_BROWSER var. */
  browser?: string;
  /** How long a sent message waits for the server's ack (message-sender.ts); tests shorten it. */
  ackTimeoutMs?: number;
}

export interface SessionSnapshot {
  status: SessionStatus;
  reason: string | null;
  qr: string | null;
  phoneNumber: string | null;
  displayName: string | null;
  socketOpen: boolean;
}

/** Server-Sent Event names of GET /v1/whatsapp/sessions/{id}/stream. */
export type StreamEventName = "qr" | "connected" | "status" | "error";
