import { getCodeFromWSError } from "baileys/lib/Utils/generics.js";
import { describe, expect, it } from "vitest";
import WebSocket, { connectErrorCode, type SocketError } from "../../src/runtime/ws";
import { registerSocketTarget, type SocketTarget } from "../../src/runtime/socket-target";

// The `ws` substitute must report connection failures as `ws` does in Node (errors with Node's
// code), so Baileys classifies them as it does there: an E-code is 408, never 500 (badSession).

interface Outcome {
  error?: SocketError;
  close?: number;
  opened: boolean;
}

function run(url: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { opened: false };
    const ws = new WebSocket(url, { handshakeTimeout: 10_000 });
    ws.on("open", () => (outcome.opened = true));
    ws.on("error", (err: SocketError) => (outcome.error = err));
    ws.on("close", (code: number) => {
      outcome.close = code;
      resolve(outcome);
    });
  });
}

function throwing(message: string): string {
  const target: SocketTarget = {
    async connect() {
      throw new Error(message);
    },
  };
  return registerSocketTarget(target).url;
}

describe("ws substitute: connection errors", () => {
  it.each([
    ["Network connection lost.", "ECONNRESET"],
    ["DNS lookup failed.", "ENOTFOUND"],
    ["connect ECONNREFUSED 127.0.0.1:443", "ECONNREFUSED"],
    ["internal error", "ECONNREFUSED"],
    ["TLS peer's certificate is not trusted", "EPROTO"],
    ["The operation timed out", "ETIMEDOUT"],
  ])("a failed upgrade (%s) is an error with code %s, then close 1006", async (message, code) => {
    const outcome = await run(throwing(message));
    expect(outcome.opened).toBe(false);
    expect(outcome.error?.message).toBe(message);
    expect(outcome.error?.code).toBe(code);
    expect(outcome.close).toBe(1006);
    // What Baileys makes of it: a timeout-like 408, not badSession.
    expect(getCodeFromWSError(outcome.error!)).toBe(408);
  });

  it("an HTTP answer to the upgrade reads as in ws: 'Unexpected server response: <status>'", async () => {
    const target: SocketTarget = { connect: async () => ({ response: new Response("no", { status: 503 }) }) };
    const outcome = await run(registerSocketTarget(target).url);
    expect(outcome.error?.message).toBe("Unexpected server response: 503");
    expect(getCodeFromWSError(outcome.error!)).toBe(503);
    expect(outcome.close).toBe(1006);
  });

  // workerd names neither cause: an unresolvable host is "internal error; reference = …" and a
  // closed port "Network connection lost.". These pin what the shim makes of exactly those.
  it("a host that does not resolve (workerd: 'internal error') fails with ECONNREFUSED, read by Baileys as 408", async () => {
    const outcome = await run("wss://gateway-test-no-such-host.invalid/ws/chat");
    expect(outcome.opened).toBe(false);
    expect(outcome.error?.message).toMatch(/^internal error/);
    expect(outcome.error?.code).toBe("ECONNREFUSED");
    expect(outcome.close).toBe(1006);
    expect(getCodeFromWSError(outcome.error!)).toBe(408);
  });

  it("a closed port (workerd: 'Network connection lost.') fails with ECONNRESET, read by Baileys as 408", async () => {
    const outcome = await run("ws://127.0.0.1:1/ws/chat");
    expect(outcome.opened).toBe(false);
    expect(outcome.error?.message).toBe("Network connection lost.");
    expect(outcome.error?.code).toBe("ECONNRESET");
    expect(outcome.close).toBe(1006);
    expect(getCodeFromWSError(outcome.error!)).toBe(408);
  });

  it("a target that hangs and ignores the abort: the handshake timeout still ends it (ETIMEDOUT, close 1006)", async () => {
    const hung: SocketTarget = { connect: () => new Promise(() => {}) };
    const outcome = await new Promise<Outcome>((resolve) => {
      const result: Outcome = { opened: false };
      const ws = new WebSocket(registerSocketTarget(hung).url, { handshakeTimeout: 200 });
      ws.on("error", (err: SocketError) => (result.error = err));
      ws.on("close", (code: number) => {
        result.close = code;
        resolve(result);
      });
    });
    expect(outcome.error?.code).toBe("ETIMEDOUT");
    expect(outcome).toMatchObject({ opened: false, close: 1006 });
  });

  it("close() while a hung target is connecting reports the close", async () => {
    const hung: SocketTarget = { connect: () => new Promise(() => {}) };
    const ws = new WebSocket(registerSocketTarget(hung).url);
    const closed = new Promise<number>((resolve) => ws.on("close", resolve));
    ws.on("error", () => {});
    ws.close();
    expect(await closed).toBe(1006);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });

  it("a send the runtime refuses: the callback gets EPIPE, the runtime socket is closed, then close 1006", async () => {
    let client: globalThis.WebSocket | undefined;
    let peerClosed: Promise<number> | undefined;
    const target: SocketTarget = {
      async connect() {
        const [c, peer] = Object.values(new WebSocketPair());
        peer.accept();
        peerClosed = new Promise((resolve) => peer.addEventListener("close", (e) => resolve(e.code)));
        client = c;
        return { response: new Response(null, { status: 101, webSocket: c }) };
      },
    };
    const ws = new WebSocket(registerSocketTarget(target).url);
    await new Promise((resolve) => ws.on("open", resolve));
    const closed = new Promise<number>((resolve) => ws.on("close", resolve));
    // As workerd does on a socket its peer dropped without a close event.
    client!.send = () => {
      throw new Error("Network connection lost.");
    };
    const sendError = await new Promise<SocketError | undefined>((resolve) => ws.send(Buffer.from("x"), resolve));
    expect(sendError?.code).toBe("EPIPE");
    expect(await closed).toBe(1006);
    expect(await peerClosed).toBe(1011);
  });

  it("a peer that closes after the upgrade: close with its code, no error", async () => {
    let server: globalThis.WebSocket | undefined;
    const target: SocketTarget = {
      async connect() {
        const [client, peer] = Object.values(new WebSocketPair());
        peer.accept();
        server = peer;
        return { response: new Response(null, { status: 101, webSocket: client }) };
      },
    };
    const closed = new Promise<Outcome>((resolve) => {
      const outcome: Outcome = { opened: false };
      const ws = new WebSocket(registerSocketTarget(target).url);
      ws.on("error", (err: SocketError) => (outcome.error = err));
      ws.on("open", () => {
        outcome.opened = true;
        server!.close(4000, "dropped");
      });
      ws.on("close", (code: number) => {
        outcome.close = code;
        resolve(outcome);
      });
    });
    const outcome = await closed;
    expect(outcome).toEqual({ opened: true, close: 4000 });
  });
});

describe("connectErrorCode", () => {
  it("defaults to ECONNREFUSED for a failure it cannot name", () => {
    expect(connectErrorCode(new Error("something odd"))).toBe("ECONNREFUSED");
    expect(connectErrorCode("getaddrinfo ENOTFOUND web.whatsapp.com")).toBe("ENOTFOUND");
  });
});
