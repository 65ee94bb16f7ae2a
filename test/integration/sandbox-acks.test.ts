import { describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { send } from "../helpers/messages";
import { sandboxOf } from "../helpers/sandbox-client";
import { createPhone, fault, linkedSession, logins, sandboxEventsOf, waitForSession } from "../helpers/sessions";

// Every message, receipt and notification the server sends must be answered (an `<ack>`, or a
// `<receipt>` for a message); one left unanswered past the server's patience ends the stream with
// a codeless `<stream:error><ack id/></stream:error>`, which Baileys reports as 500.

/** Stanzas the sandbox still waits on this session's client to answer. */
async function unanswered(accountId: string, sessionId: string): Promise<number | undefined> {
  const sockets = (await sandboxOf(accountId).sockets()) as { session_id: string; state: string; unacked: number }[];
  return sockets.find((s) => s.session_id === sessionId && s.state === "open")?.unacked;
}

async function incomingCount(account: TestAccount, sessionId: string): Promise<number> {
  return (await call("GET", `/v1/whatsapp/messages/${sessionId}/session?filter[direction]=incoming&limit=50`, { key: account.key })).json.data.length;
}

async function phoneWrites(account: TestAccount, from: string, body: Record<string, unknown>) {
  const res = await call("POST", `/v1/sandbox/phones/${from}/messages`, { key: account.key, body });
  expect(res.status, res.text).toBe(201);
}

describe("acks of what the server sends", () => {
  it("the gateway answers every stanza of the usual traffic", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const loginsBefore = await logins(account.id, session.id);
    // A shorter patience than the default 60 s: anything the gateway leaves unanswered ends its
    // stream within the test (the unanswered count below catches it sooner).
    await fault(account.key, session.id, { kind: "unacked_timeout", ms: 20_000 });
    const alice = await createPhone(account.key, { name: "Alice" });
    const bob = await createPhone(account.key, { name: "Bob" });

    await phoneWrites(account, alice.phone_number, { to: session.phone_number, type: "text", text: "Hello" });
    const jpeg = new Uint8Array(2048).map((_, i) => i % 251);
    jpeg.set([0xff, 0xd8, 0xff, 0xe0]);
    await phoneWrites(account, bob.phone_number, { to: session.phone_number, type: "image", base64: btoa(String.fromCharCode(...jpeg)), mimetype: "image/jpeg" });
    const group = await call("POST", "/v1/sandbox/groups", { key: account.key, body: { owner: alice.phone_number, subject: "Team", members: [bob.phone_number, session.phone_number] } });
    expect(group.status, group.text).toBe(201);
    const inGroup = await call("POST", `/v1/sandbox/groups/${group.json.group.jid}/messages`, { key: account.key, body: { from: bob.phone_number, type: "text", text: "Standup" } });
    expect(inGroup.status, inGroup.text).toBe(201);
    // A sent message brings the phone's delivery receipt back.
    const sent = await send(account.key, { whatsapp_session_id: session.session_id, to_number: [alice.phone_number], type: "text", content: "Thanks!" });
    expect(sent.status, sent.text).toBe(201);

    await expect.poll(() => incomingCount(account, session.id), { timeout: 20_000, interval: 200 }).toBe(3);
    await expect
      .poll(async () => ["delivered", "read"].includes((await call("GET", `/v1/whatsapp/messages?filter[direction]=outgoing&session_id=${session.session_id}`, { key: account.key })).json.data[0]?.status), { timeout: 20_000, interval: 200 })
      .toBe(true);
    // Everything answered: nothing is left for the server to end the stream over.
    await expect.poll(() => unanswered(account.id, session.id), { timeout: 10_000, interval: 100 }).toBe(0);
    expect(await sandboxEventsOf(account.id, session.id, "unacked_stream_error")).toEqual([]);
    expect(await logins(account.id, session.id)).toBe(loginsBefore); // no reconnect on the way
  }, 60_000);

  it("a stanza left unanswered ends the stream with a codeless stream error; the gateway reconnects with its keys", async () => {
    const account = await createAccount({ balance: 1000 });
    const { session } = await linkedSession(account.key);
    const before = await logins(account.id, session.id);
    const alice = await createPhone(account.key, { name: "Alice" });
    await fault(account.key, session.id, { kind: "unacked_timeout", ms: 2_000 });
    await fault(account.key, session.id, { kind: "lose_acks", count: 1 });

    await phoneWrites(account, alice.phone_number, { to: session.phone_number, type: "text", text: "Are you there?" });
    await expect.poll(async () => (await sandboxEventsOf(account.id, session.id, "unacked_stream_error")).length, { timeout: 15_000, interval: 100 }).toBeGreaterThanOrEqual(1);
    // Baileys reads the codeless stream error as 500: a reconnect, never an unlink.
    await expect.poll(() => logins(account.id, session.id), { timeout: 20_000, interval: 100 }).toBeGreaterThanOrEqual(before + 1);
    const back = await waitForSession(account.key, session.id, (s) => s.status === "connected");
    expect(back.phone_number).toBe(session.phone_number);
    // Back to the default patience, so a slow answer during the busy re-login ends nothing.
    await fault(account.key, session.id, { kind: "unacked_timeout", ms: 60_000 });

    // Same keys: the next message decrypts and arrives.
    await phoneWrites(account, alice.phone_number, { to: session.phone_number, type: "text", text: "Still there?" });
    await expect
      .poll(async () => (await call("GET", `/v1/whatsapp/messages/${session.id}/session?filter[direction]=incoming&limit=50`, { key: account.key })).json.data.map((m: any) => m.content), { timeout: 20_000, interval: 200 })
      .toContain("Still there?");
  }, 60_000);
});
