import type { DisconnectSource, ServerWord } from "../domain/session-status";

// What a Baileys close error says about why the socket closed, for classifyDisconnect.

export type CloseError = Error & { output?: { statusCode?: number }; data?: unknown };

/**
 * Baileys wraps every failure of the WebSocket itself (its 'error' event, and a 'close' during
 * the handshake) as "WebSocket Error (...)" (Socket/socket.js mapWebSocketError), with a code
 * guessed from the error: 408 for E-codes, the HTTP status of a refused upgrade, else 500.
 */
export function closeSource(error: Error | undefined): DisconnectSource {
  return error?.message?.startsWith("WebSocket Error") ? "transport" : "server";
}

/**
 * The server's own word behind a close, from Baileys' Boom (Socket/socket.js): "Connection
 * Failure" carries a login `<failure>`, "Stream Errored (…)" a `<stream:error>` with its first
 * child as `data` (the `conflict` node for device_removed / replaced).
 */
export function serverWord(error: CloseError | undefined): ServerWord | undefined {
  const message = error?.message ?? "";
  if (message.startsWith("Connection Failure")) {
    // Baileys keeps the failure's attributes as `data` (a 402 has `expire`, in seconds).
    const expire = Number((error?.data as { expire?: string } | undefined)?.expire);
    return { kind: "failure", ...(expire > 0 ? { expire } : {}) };
  }
  if (!message.startsWith("Stream Errored")) return undefined;
  const child = error?.data as { tag?: string; attrs?: { type?: string } } | undefined;
  return { kind: "stream", conflict: child?.tag === "conflict" ? child.attrs?.type : undefined };
}
