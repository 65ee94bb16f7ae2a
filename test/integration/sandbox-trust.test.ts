import makeWASocket from "baileys";
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { registerSocketTarget } from "../../src/runtime/socket-target";
import { createSqliteAuthState } from "../../src/session/auth-state";
import { DEFAULT_SOCKET_CONFIG } from "../../src/session/baileys-host";
import { createLogger } from "../../src/platform/log";

// The sandbox's certificate chain is honest but is not WhatsApp's: a socket that keeps
// WhatsApp's genuine root (as every real session does) must refuse it.

const sandboxOf = (accountId: string) => env.SANDBOX_WORLD.get(env.SANDBOX_WORLD.idFromName(accountId));
const sessionOf = (sessionId: string) => env.SESSION.get(env.SESSION.idFromName(sessionId));

describe("sandbox trust", () => {
  it("rejects the sandbox's certificate on a socket that trusts WhatsApp's genuine root", () => {
    const accountId = "acct-untrusted";
    const sessionId = "session-untrusted";
    return runInDurableObject(sessionOf(sessionId), async (_instance, state) => {
      // Same sandbox connection, but no noiseRoot: the socket keeps WhatsApp's root.
      const target = registerSocketTarget({
        connect: async ({ headers }) => ({
          response: await sandboxOf(accountId).fetch(`https://sandbox/ws/chat?session=${sessionId}`, { headers }),
        }),
      });
      const socket = makeWASocket({
        ...DEFAULT_SOCKET_CONFIG,
        waWebSocketUrl: target.url,
        auth: createSqliteAuthState(state.storage).state,
        logger: createLogger("silent"),
      });
      const qrs: string[] = [];
      const closed = await new Promise<Error | undefined>((resolve) =>
        socket.ev.on("connection.update", (u) => {
          if (u.qr) qrs.push(u.qr);
          if (u.connection === "close") resolve(u.lastDisconnect?.error);
        }),
      );
      target.release();
      expect(closed?.message).toBe("noise intermediate certificate signature invalid");
      expect(qrs).toEqual([]);
    });
  });
});
