import { runInDurableObject } from "cloudflare:test";
import type { BinaryNode } from "baileys";
import { describe, expect, it } from "vitest";
import type { SessionSocket } from "../../src/session/session-socket";
import { createAccount } from "../helpers/api";
import { linkedSession, sandboxEventsOf, sessionObject, waitForSession } from "../helpers/sessions";

// What the server does not implement is refused with an error, as real servers do, never answered
// with an empty success a client would take for done; the connection stays up.

/** Sends an iq through the session's own Baileys socket; what `query` throws, or "ok". */
async function ask(sessionId: string, iq: BinaryNode): Promise<{ text: string; code: unknown } | "ok"> {
  const stub = sessionObject(sessionId) as unknown as DurableObjectStub;
  return runInDurableObject(stub, async (instance: unknown) => {
    const socket = (instance as { conn: SessionSocket }).conn.current!;
    try {
      await socket.query(iq);
      return "ok" as const;
    } catch (err) {
      const e = err as { message: string; data?: unknown };
      return { text: e.message, code: e.data };
    }
  });
}

describe("iqs the server does not implement", () => {
  it("are answered 501 feature-not-implemented, and a malformed one 400", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);

    const unknown = await ask(session.id, { tag: "iq", attrs: { to: "s.whatsapp.net", type: "get", xmlns: "w:sandbox-nothing" }, content: [{ tag: "nothing", attrs: {} }] });
    expect(unknown).toEqual({ text: "feature-not-implemented", code: 501 });
    const malformed = await ask(session.id, { tag: "iq", attrs: { to: "s.whatsapp.net", type: "get" }, content: [{ tag: "nothing", attrs: {} }] });
    expect(malformed).toEqual({ text: "bad-request", code: 400 });
    expect((await sandboxEventsOf(account.id, session.id, "unknown_iq")).map((e) => e.detail.xmlns)).toEqual(["w:sandbox-nothing", undefined]);

    // An error answer is not a fault: the session stays connected and known iqs still work.
    expect(await ask(session.id, { tag: "iq", attrs: { to: "s.whatsapp.net", type: "get", xmlns: "w:p" }, content: [{ tag: "ping", attrs: {} }] })).toBe("ok");
    expect((await waitForSession(account.key, session.id, (s) => s.status === "connected")).status).toBe("connected");
  });
});
