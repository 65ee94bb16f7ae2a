import { Buffer } from "node:buffer";
import { runInDurableObject } from "cloudflare:test";
import type { BinaryNode, WASocket } from "baileys";
import { encodeBinaryNode } from "baileys";
import { describe, expect, it } from "vitest";
import { validateClientMessage } from "../../src/sandbox/message-validation";
import type { SessionSocket } from "../../src/session/session-socket";
import { createAccount } from "../helpers/api";
import { sandboxOf } from "../helpers/sandbox-client";
import { createPhone, identity, linkedSession, logins, sandboxEventsOf, sessionObject, streamEvents, waitForSession } from "../helpers/sessions";

// What the sandbox does with what a client sends that real servers refuse: a frame its own decoder
// cannot read ends the stream with xml-not-well-formed; a readable message stanza the server's
// schema refuses gets ack error 479 (smax-invalid) and is not delivered. Driven through the
// session's real Baileys socket (relayMessage with overridden attributes, raw nodes, raw frames).

/** Runs `fn` with the session's live Baileys socket, inside its Durable Object. */
function onSocket<T>(sessionId: string, fn: (socket: WASocket) => Promise<T>): Promise<T> {
  return runInDurableObject(sessionObject(sessionId) as unknown as DurableObjectStub, (instance: unknown) => fn((instance as { conn: SessionSocket }).conn.current!));
}

async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const inboxIds = async (accountId: string, phone: string) => ((await sandboxOf(accountId).inbox(phone)) as { id: string }[]).map((m) => m.id);

describe("the message schema check", () => {
  const ct = new Uint8Array([9, 9, 9]);
  const enc = (type: string) => ({ tag: "enc", attrs: { v: "2", type }, content: ct });
  const copy = (jid: string, type = "pkmsg") => ({ tag: "to", attrs: { jid }, content: [enc(type)] });
  const msg = (attrs: Record<string, string>, content?: BinaryNode[]): BinaryNode => ({ tag: "message", attrs: { id: "3EB0A1", type: "text", ...attrs }, content });
  const identityNode = { tag: "device-identity", attrs: {}, content: ct };

  it("lets through every shape Baileys' relayMessage builds", () => {
    const valid: [string, BinaryNode][] = [
      ["1:1 fan-out", msg({ to: "15550001@s.whatsapp.net" }, [{ tag: "participants", attrs: {}, content: [copy("15550001@s.whatsapp.net"), copy("15550002:3@s.whatsapp.net", "msg")] }, identityNode])],
      ["1:1 to a lid", msg({ to: "9001@lid", type: "media" }, [{ tag: "participants", attrs: {}, content: [copy("9001@lid"), copy("9001:7@lid")] }])],
      ["group", msg({ to: "120363000000000001@g.us", type: "reaction" }, [{ tag: "participants", attrs: {}, content: [copy("15550003@s.whatsapp.net")] }, enc("skmsg")])],
      ["group, skmsg only", msg({ to: "120363000000000001@g.us", type: "poll" }, [enc("skmsg")])],
      ["retry to one participant", msg({ to: "120363000000000001@g.us", participant: "15550003:2@s.whatsapp.net" }, [enc("msg")])],
      ["peer", msg({ to: "15550001@s.whatsapp.net", category: "peer", push_priority: "high_force" }, [enc("pkmsg")])],
      ["own device resend", msg({ to: "15550001:4@s.whatsapp.net", recipient: "15550002@s.whatsapp.net", type: "event" }, [enc("msg")])],
      ["status", msg({ to: "status@broadcast" }, [{ tag: "participants", attrs: {}, content: [copy("15550003@s.whatsapp.net")] }, enc("skmsg")])],
      ["newsletter", msg({ to: "120363000000000002@newsletter" }, [{ tag: "plaintext", attrs: {}, content: ct }])],
      // Baileys newsletterReactMessage: a reaction, and its removal (edit 7, no code).
      ["channel reaction", msg({ to: "120363000000000002@newsletter", type: "reaction", server_id: "117" }, [{ tag: "reaction", attrs: { code: "👍" } }])],
      ["channel reaction removed", msg({ to: "120363000000000002@newsletter", type: "reaction", server_id: "117", edit: "7" }, [{ tag: "reaction", attrs: {} }])],
    ];
    for (const [name, stanza] of valid) expect(validateClientMessage(stanza), name).toBeUndefined();
  });

  it("names what is wrong with the rest", () => {
    const bad: [BinaryNode, string][] = [
      [msg({ to: "1@s.whatsapp.net", id: "" }, [enc("msg")]), "no id"],
      [msg({ to: "not-a-jid" }, [enc("msg")]), "no valid to"],
      [msg({ to: "@s.whatsapp.net" }, [enc("msg")]), "to without a user"],
      [msg({ to: "1:x@s.whatsapp.net" }, [enc("msg")]), "to with a bad device"],
      [msg({ to: "1@s.whatsapp.net", type: "" }, [enc("msg")]), "unknown type (none)"],
      [msg({ to: "1@s.whatsapp.net" }, [{ tag: "enc", attrs: { v: "2" }, content: ct }]), "enc of unknown type (none)"],
      [msg({ to: "1@s.whatsapp.net" }, [{ tag: "enc", attrs: { v: "2", type: "msg" } }]), "enc without ciphertext"],
      [msg({ to: "1@s.whatsapp.net" }, [{ tag: "participants", attrs: {} }]), "participants without a to"],
      [msg({ to: "1@s.whatsapp.net" }, [{ tag: "participants", attrs: {}, content: [copy("120363000000000001@g.us")] }]), "participant jid 120363000000000001@g.us is not a device"],
      [msg({ to: "1@s.whatsapp.net" }, [{ tag: "participants", attrs: {}, content: [copy("1@s.whatsapp.net")] }, { tag: "participants", attrs: {}, content: [copy("1@s.whatsapp.net")] }]), "participants twice"],
      [msg({ to: "1@s.whatsapp.net" }, [{ tag: "plaintext", attrs: {}, content: ct }]), "plaintext outside a newsletter"],
      [msg({ to: "1@s.whatsapp.net" }, [identityNode]), "nothing to deliver (no enc, participants or plaintext)"],
      [msg({ to: "1@s.whatsapp.net", type: "reaction", server_id: "117" }, [{ tag: "reaction", attrs: { code: "👍" } }]), "reaction outside a channel message"],
      [msg({ to: "120363000000000002@newsletter", type: "reaction" }, [{ tag: "reaction", attrs: { code: "👍" } }]), "reaction outside a channel message"],
      [msg({ to: "120363000000000002@newsletter", type: "reaction", server_id: "117" }, [{ tag: "reaction", attrs: {} }, enc("msg")]), "a channel reaction with other content"],
    ];
    for (const [stanza, reason] of bad) expect(validateClientMessage(stanza)).toBe(reason);
  });
});

describe("client stanzas the server refuses", () => {
  it("a message its schema refuses is acked with error 479 and not delivered; the connection stays up", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key);
    const to = `${contact.phone_number}@s.whatsapp.net`;
    const garbage = new Uint8Array([1, 2, 3, 4]);
    // A real, encrypted message with its type overridden (Baileys spreads additionalAttributes last;
    // it sets `to` again afterwards, so bad addresses go as raw stanzas).
    const relayed: [string, Record<string, string | undefined>, RegExp][] = [["bad-type", { type: "bogus" }, /^unknown type bogus$/]];
    const enc = { tag: "enc", attrs: { v: "2", type: "msg" }, content: garbage };
    // Raw stanzas for shapes Baileys never builds.
    const raw: [string, BinaryNode, RegExp][] = [
      ["no-to", { tag: "message", attrs: { id: "", type: "text" }, content: [enc] }, /^no valid to$/],
      ["bad-server", { tag: "message", attrs: { id: "", to: `${contact.phone_number}@example.com`, type: "text" }, content: [enc] }, /^to on unknown server example.com$/],
      ["bad-enc", { tag: "message", attrs: { id: "", to, type: "text" }, content: [{ tag: "enc", attrs: { v: "2", type: "plain" }, content: garbage }] }, /^enc of unknown type plain$/],
      ["empty", { tag: "message", attrs: { id: "", to, type: "text" } }, /^nothing to deliver/],
      ["no-enc", { tag: "message", attrs: { id: "", to, type: "text" }, content: [{ tag: "participants", attrs: {}, content: [{ tag: "to", attrs: { jid: to } }] }] }, /with 0 enc$/],
    ];
    const acks = await onSocket(session.id, async (socket) => {
      const out: Record<string, Record<string, string>> = {};
      for (const [name, attrs] of relayed) {
        const id = `MALFORMED-${name}`.toUpperCase();
        const ack = socket.waitForMessage(id, 15_000);
        await socket.relayMessage(to, { conversation: `refused ${name}` }, { messageId: id, additionalAttributes: attrs as Record<string, string> });
        out[name] = ((await ack) as BinaryNode).attrs;
      }
      for (const [name, stanza] of raw) {
        const id = `MALFORMED-${name}`.toUpperCase();
        const ack = socket.waitForMessage(id, 15_000);
        await socket.sendNode({ ...stanza, attrs: { ...stanza.attrs, id } });
        out[name] = ((await ack) as BinaryNode).attrs;
      }
      return out;
    });
    for (const [name] of [...relayed, ...raw]) {
      expect(acks[name], name).toMatchObject({ class: "message", id: `MALFORMED-${name}`.toUpperCase(), error: "479" });
    }

    const invalid = await sandboxEventsOf(account.id, session.id, "message_invalid");
    for (const [name, , reason] of [...relayed, ...raw]) {
      const event = invalid.find((e) => e.detail.id === `MALFORMED-${name}`.toUpperCase());
      expect(event?.detail, name).toMatchObject({ code: "479" });
      expect(event?.detail.reason, name).toMatch(reason);
    }
    // None reached the contact; the same content with a valid stanza does, on the same connection.
    const ok = await onSocket(session.id, async (socket) => {
      const ack = socket.waitForMessage("MALFORMED-CONTROL", 15_000);
      await socket.relayMessage(to, { conversation: "accepted" }, { messageId: "MALFORMED-CONTROL" });
      return ((await ack) as BinaryNode).attrs;
    });
    expect(ok).toMatchObject({ class: "message", id: "MALFORMED-CONTROL" });
    expect(ok.error).toBeUndefined();
    const inbox = await inboxIds(account.id, contact.phone_number);
    expect(inbox).toContain("MALFORMED-CONTROL");
    expect(inbox.filter((id) => id.startsWith("MALFORMED-") && id !== "MALFORMED-CONTROL")).toEqual([]);
    expect((await waitForSession(account.key, session.id, (s) => s.status === "connected")).status).toBe("connected");
  });

  it("a message without an id gets the bare <error code=479 text=smax-invalid/>", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key);
    const error = await onSocket(session.id, async (socket) => {
      const bare = new Promise<BinaryNode>((resolve) => socket.ws.once("CB:error", resolve));
      await socket.relayMessage(`${contact.phone_number}@s.whatsapp.net`, { conversation: "no id" }, { messageId: "MALFORMED-NOID", additionalAttributes: { id: undefined } as unknown as Record<string, string> });
      return bare;
    });
    expect(error).toMatchObject({ tag: "error", attrs: { code: "479", text: "smax-invalid" } });
    const [event] = await sandboxEventsOf(account.id, session.id, "message_invalid");
    expect(event.detail).toMatchObject({ reason: "no id", code: "479" });
  });
});

describe("client frames the decoder cannot read", () => {
  it("end the stream with xml-not-well-formed; the session comes back with its keys", async () => {
    const account = await createAccount();
    const { session, phone } = await linkedSession(account.key);
    const keys = await identity(session.id);
    const before = await streamEvents(account.key, session.id);
    const loginsBefore = await logins(account.id, session.id);
    // A node whose tag byte (240) the format does not define, sealed in a valid Noise frame.
    const streamError = await onSocket(session.id, async (socket) => {
      const stanza = new Promise<BinaryNode>((resolve) => socket.ws.once("CB:stream:error", resolve));
      await socket.sendRawMessage(Buffer.from([0, 248, 1, 240]));
      return stanza;
    });
    // What the client received: <stream:error><xml-not-well-formed/></stream:error>.
    expect(streamError.tag).toBe("stream:error");
    expect((streamError.content as BinaryNode[]).map((c) => c.tag)).toEqual(["xml-not-well-formed"]);

    await expect.poll(async () => (await sandboxEventsOf(account.id, session.id, "malformed_stanza")).length, { timeout: 10_000, interval: 100 }).toBe(1);
    const [event] = await sandboxEventsOf(account.id, session.id, "malformed_stanza");
    expect(event.detail).toMatchObject({ reason: "unknown tag 240", offset: 2 });
    // Baileys reads the stream error as 500 badSession and reconnects; keys kept, no new QR.
    await expect.poll(() => logins(account.id, session.id), { timeout: 20_000, interval: 200 }).toBeGreaterThan(loginsBefore);
    const back = await waitForSession(account.key, session.id, (s) => s.status === "connected");
    expect(back.phone_number).toBe(phone.phone_number);
    expect(await identity(session.id)).toBe(keys);
    const after = await streamEvents(account.key, session.id);
    expect(after.filter((e) => e.event === "qr").length).toBe(before.filter((e) => e.event === "qr").length);
    expect(after.slice(before.length).filter((e) => e.event === "status").map((e) => e.data)).toEqual([
      { status: "disconnected", reason: "stream_error" },
      { status: "connected", reason: null },
    ]);
  });

  it("a zlib-deflated frame (flags bit 2) is read like a plain one", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const reply = await onSocket(session.id, async (socket) => {
      const ping: BinaryNode = { tag: "iq", attrs: { id: "deflated-ping-1", to: "s.whatsapp.net", type: "get", xmlns: "w:p" }, content: [{ tag: "ping", attrs: {} }] };
      const body = await deflate(new Uint8Array(encodeBinaryNode(ping)).subarray(1));
      const answer = socket.waitForMessage("deflated-ping-1", 15_000);
      await socket.sendRawMessage(Buffer.from([2, ...body]));
      return ((await answer) as BinaryNode).attrs;
    });
    expect(reply).toMatchObject({ id: "deflated-ping-1", type: "result" });
    expect(await sandboxEventsOf(account.id, session.id, "malformed_stanza")).toEqual([]);
  });
});
