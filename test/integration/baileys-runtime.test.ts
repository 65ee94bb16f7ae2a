import makeWASocket, { Curve, DisconnectReason, NOISE_WA_HEADER, proto, WA_CERT_DETAILS } from "baileys";
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
// The module wrangler.toml's [alias] gives Baileys for "ws" (imported by path for its types).
import WebSocket from "../../src/runtime/ws";
import { genuineNoiseRoot } from "../../src/runtime/baileys-hardening";
import { registerSocketTarget, resolveSocketTarget, runWithNoiseRoot } from "../../src/runtime/socket-target";
import { createSqliteAuthState } from "../../src/session/auth-state";
import { DEFAULT_SOCKET_CONFIG } from "../../src/session/baileys-host";
import { createLogger } from "../../src/platform/log";

// Baileys running inside a SessionObject (workerd, real DO storage), its socket opened by the ws
// shim. The peer here is the other end of a WebSocketPair held by the test.

describe("Baileys in a Durable Object", () => {
  it("opens its socket through the ws shim and sends the Noise client hello", () => {
    const stub = env.SESSION.get(env.SESSION.idFromName("runtime-first-frame"));
    return runInDurableObject(stub, async (_instance, state) => {
      const [client, server] = Object.values(new WebSocketPair());
      server.binaryType = "arraybuffer";
      server.accept();
      const firstFrame = new Promise<Uint8Array>((resolve) =>
        server.addEventListener("message", (event) => resolve(new Uint8Array(event.data as ArrayBuffer)), { once: true }),
      );
      let seen: { url: URL; headers: Headers } | undefined;
      const target = registerSocketTarget(
        {
          async connect({ url, headers }) {
            seen = { url, headers };
            return { response: new Response(null, { status: 101, webSocket: client }) };
          },
        },
        { session: "runtime-first-frame" },
      );
      const updates: { connection?: string; statusCode?: number }[] = [];
      const socket = makeWASocket({
        ...DEFAULT_SOCKET_CONFIG,
        waWebSocketUrl: target.url,
        auth: createSqliteAuthState(state.storage).state,
        logger: createLogger("silent"),
      });
      socket.ev.on("connection.update", (u) =>
        updates.push({
          connection: u.connection,
          statusCode: (u.lastDisconnect?.error as { output?: { statusCode?: number } })?.output?.statusCode,
        }),
      );

      const frame = await firstFrame;
      // Intro header W A 6 3, then a 3-byte length and the HandshakeMessage with clientHello.
      expect([...frame.subarray(0, 4)]).toEqual([...NOISE_WA_HEADER]);
      expect([...frame.subarray(0, 4)]).toEqual([0x57, 0x41, 6, 3]);
      const length = (frame[4] << 16) | (frame[5] << 8) | frame[6];
      expect(frame.length).toBe(7 + length);
      const hello = proto.HandshakeMessage.decode(frame.subarray(7));
      expect(hello.clientHello?.ephemeral).toHaveLength(32);
      expect(seen?.headers.get("Upgrade")).toBe("websocket");
      expect(seen?.headers.get("Origin")).toBe("https://web.whatsapp.com");
      expect(seen?.url.searchParams.get("session")).toBe("runtime-first-frame");

      // The peer hangs up: Baileys must see the close and report connectionClosed.
      server.close(1000, "bye");
      await expect.poll(() => updates.find((u) => u.connection === "close"), { timeout: 5_000 }).toBeDefined();
      expect(updates.find((u) => u.connection === "close")?.statusCode).toBe(DisconnectReason.connectionClosed);
      target.release();
    });
  });

  it("ends its socket when asked, closing the peer's side", () => {
    const stub = env.SESSION.get(env.SESSION.idFromName("runtime-end"));
    return runInDurableObject(stub, async (_instance, state) => {
      const [client, server] = Object.values(new WebSocketPair());
      server.accept();
      const peerClosed = new Promise<number>((resolve) => server.addEventListener("close", (e) => resolve(e.code)));
      const firstFrame = new Promise((resolve) => server.addEventListener("message", resolve, { once: true }));
      const target = registerSocketTarget({
        connect: async () => ({ response: new Response(null, { status: 101, webSocket: client }) }),
      });
      const socket = makeWASocket({
        ...DEFAULT_SOCKET_CONFIG,
        waWebSocketUrl: target.url,
        auth: createSqliteAuthState(state.storage).state,
        logger: createLogger("silent"),
      });
      await firstFrame;
      await socket.end(undefined);
      expect(await peerClosed).toBe(1000);
      target.release();
    });
  });

  it("reports a peer that refuses the upgrade as a closed connection", () => {
    const stub = env.SESSION.get(env.SESSION.idFromName("runtime-refused"));
    return runInDurableObject(stub, async (_instance, state) => {
      const target = registerSocketTarget({ connect: async () => ({ response: new Response("no", { status: 503 }) }) });
      const socket = makeWASocket({
        ...DEFAULT_SOCKET_CONFIG,
        waWebSocketUrl: target.url,
        auth: createSqliteAuthState(state.storage).state,
        logger: createLogger("silent"),
      });
      const closed = await new Promise<Error | undefined>((resolve) =>
        socket.ev.on("connection.update", (u) => {
          if (u.connection === "close") resolve(u.lastDisconnect?.error);
        }),
      );
      expect(closed?.message).toMatch(/Unexpected server response: 503/);
      target.release();
    });
  });

  it("dispatches each socket's events under that socket's noise root", async () => {
    const sandboxRoot = Curve.generateKeyPair().public;
    const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
    // Opens a socket via the shim and records the root seen by
    // its open and message handlers; the peer sends one frame.
    const rootsSeen = (noiseRoot: Uint8Array | undefined) => {
      const [client, server] = Object.values(new WebSocketPair());
      server.accept();
      const target = registerSocketTarget({
        connect: async () => ({ response: new Response(null, { status: 101, webSocket: client }), noiseRoot }),
      });
      const ws = new WebSocket(target.url);
      return new Promise<string[]>((resolve) => {
        const seen: string[] = [];
        ws.on("open", () => {
          seen.push(hex(WA_CERT_DETAILS.PUBLIC_KEY));
          server.send(new Uint8Array([1, 2, 3]));
        });
        ws.on("message", async (data: Buffer, isBinary: boolean) => {
          expect(Buffer.isBuffer(data) && isBinary).toBe(true);
          await Promise.resolve();
          seen.push(hex(WA_CERT_DETAILS.PUBLIC_KEY));
          ws.close();
        });
        ws.on("close", () => {
          target.release();
          resolve(seen);
        });
      });
    };
    const genuine = hex(genuineNoiseRoot());
    // A real-WhatsApp socket opened from inside a sandbox socket's context still trusts the genuine root.
    const [sandbox, real] = await runWithNoiseRoot(sandboxRoot, () =>
      Promise.all([rootsSeen(sandboxRoot), rootsSeen(undefined)]),
    );
    expect(sandbox).toEqual([hex(sandboxRoot), hex(sandboxRoot)]);
    expect(real).toEqual([genuine, genuine]);
  });

  it("routes only registered targets and WebSocket URLs", () => {
    const target = registerSocketTarget({ connect: async () => ({ response: new Response(null) }) });
    expect(resolveSocketTarget(new URL(target.url))).toBeDefined();
    target.release();
    expect(() => resolveSocketTarget(new URL(target.url))).toThrow(/no socket target registered/);
    expect(() => resolveSocketTarget(new URL("https://web.whatsapp.com/ws/chat"))).toThrow(/unsupported/);
    expect(resolveSocketTarget(new URL("wss://web.whatsapp.com/ws/chat"))).toBeDefined();
  });
});
