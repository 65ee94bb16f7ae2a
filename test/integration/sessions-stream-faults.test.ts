import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { fault, linkedSession, logins, sandboxEventsOf, sessionObject, streamEvents, waitForSession, identity } from "../helpers/sessions";
import { sandboxOf } from "../helpers/sandbox-client";

// The connection faults of issue 15 that end a logged-in stream (docs/protocol/faults.md): each
// ends in the status and reason Baileys' reading of it gives, and the session comes back with
// its keys and without a new QR.

/** Applies the fault to a linked session; returns the status events from the fault to the login after it. */
async function survives(kind: string, timeoutMs = 20_000) {
  const account = await createAccount();
  const { session, phone } = await linkedSession(account.key);
  const keys = await identity(session.id);
  const before = await streamEvents(account.key, session.id);
  const loginsBefore = await logins(account.id, session.id);
  await fault(account.key, session.id, { kind });
  await expect.poll(() => logins(account.id, session.id), { timeout: timeoutMs, interval: 200 }).toBeGreaterThan(loginsBefore);
  const back = await waitForSession(account.key, session.id, (s) => s.status === "connected");
  expect(back.phone_number).toBe(phone.phone_number);
  expect(await identity(session.id)).toBe(keys);
  const after = await streamEvents(account.key, session.id);
  expect(after.filter((e) => e.event === "qr").length).toBe(before.filter((e) => e.event === "qr").length);
  return after.slice(before.length).filter((e) => e.event === "status").map((e) => e.data);
}

describe("stream faults", () => {
  it.each([
    // <stream:error><ack id=…/></stream:error>: no code, unknown child → Baileys badSession (500).
    ["stream_error_ack", "stream_error"],
    // <stream:error><xml-not-well-formed/></stream:error> → badSession (500).
    ["xml_not_well_formed", "stream_error"],
    // <stream:error code="503"/> → unavailableService.
    ["stream_error_503", "service_unavailable"],
    // <xmlstreamend/> → "Connection Terminated by Server", connectionClosed (428).
    ["xmlstreamend", "connection_lost"],
  ])("%s: disconnected/%s, then back with the keys kept", async (kind, reason) => {
    const statuses = await survives(kind);
    expect(statuses).toEqual([
      { status: "disconnected", reason },
      { status: "connected", reason: null },
    ]);
  });

  it("stream_error_ack names a stanza the server sent that connection and still owes an answer", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const loginsBefore = await logins(account.id, session.id);
    // Everything sent so far answered; then a notification this connection was sent and has not
    // acknowledged yet (recorded in its ledger).
    const owed = () => runInDurableObject(sandboxOf(account.id), (instance) => (instance as any).world.core.bySessionId(session.id).ledger.count as number);
    await expect.poll(owed, { timeout: 10_000, interval: 100 }).toBe(0);
    await runInDurableObject(sandboxOf(account.id), (instance) => {
      (instance as any).world.core.bySessionId(session.id).ledger.sent({ tag: "notification", attrs: { id: "srv-owed-1" } });
    });
    await fault(account.key, session.id, { kind: "stream_error_ack" });
    const [ended] = await sandboxEventsOf(account.id, session.id, "stream_error_ack");
    expect(ended.detail).toMatchObject({ id: "srv-owed-1", class: "notification", owed: true });
    await expect.poll(() => logins(account.id, session.id), { timeout: 20_000, interval: 200 }).toBeGreaterThan(loginsBefore);
    await waitForSession(account.key, session.id, (s) => s.status === "connected");
  });

  it("blackhole (socket open, pings unanswered): the keep-alive notices, disconnected/timed_out, then back", async () => {
    // Sandbox sockets ping every 10 s and end after 15 s without a frame: 15-20 s.
    const statuses = await survives("blackhole", 40_000);
    expect(statuses).toEqual([
      { status: "disconnected", reason: "timed_out" },
      { status: "connected", reason: null },
    ]);
  }, 60_000);

  it("every fault of issue 15 is in the OpenAPI enum of the faults route", async () => {
    const doc = (await call("GET", "/openapi.json")).json;
    const body = doc.paths["/v1/sandbox/sessions/{id}/faults"].post.requestBody.content["application/json"].schema;
    const schema = body.$ref ? doc.components.schemas[body.$ref.split("/").pop()] : body;
    expect(schema.properties.kind.enum).toEqual(
      expect.arrayContaining(["blackhole", "stream_error_ack", "xml_not_well_formed", "stream_error_503", "xmlstreamend", "restart_loop", "login_failure"]),
    );
  });
});
