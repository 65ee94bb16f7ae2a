import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AckLedger } from "../../src/sandbox/acks";
import type { ServerConnection } from "../../src/sandbox/connection";
import { BATCH_WAIT_MS, OfflineDelivery } from "../../src/sandbox/offline";
import type { BinaryNode } from "../../src/sandbox/stanzas";
import type { QueuedStanza, WorldStore } from "../../src/sandbox/world.store";

// The offline phase's timing on its own: a client that never asks for a batch (whatsmeow) and the
// ack ledger's clocks for stanzas sharing an id. The protocol end to end is in
// test/integration/sandbox-offline-delivery.test.ts.

/** The queue part of the store, in memory. */
function queue(tags: string[]) {
  let rows: QueuedStanza[] = tags.map((tag, i) => ({ seq: i + 1, tag, stanza_id: `S${i + 1}`, node: new Uint8Array([i + 1]), sends: 0 }) as QueuedStanza);
  const store = {
    queuedByTag: () => rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.tag!]: (acc[r.tag!] ?? 0) + 1 }), {}),
    queuedAfter: (_p: string, _d: number, after: number, limit: number) => rows.filter((r) => r.seq > after).slice(0, limit),
    queuedCount: (_p: string, _d: number, after = 0) => rows.filter((r) => r.seq > after).length,
    markQueuedSent: (_p: string, _d: number, from: number, to: number) => {
      for (const r of rows) if (r.seq > from && r.seq <= to) r.sends++;
    },
    dropQueued: (seqs: number[]) => {
      rows = rows.filter((r) => !seqs.includes(r.seq));
    },
  };
  return { store: store as unknown as WorldStore, rows: () => rows };
}

function connection() {
  const sent: BinaryNode[] = [];
  const encoded: Uint8Array[] = [];
  const conn = { sessionId: "s1", state: "open", send: (n: BinaryNode) => sent.push(n), sendEncoded: (b: Uint8Array) => encoded.push(b) };
  return { conn: conn as unknown as ServerConnection, sent, encoded };
}

describe("offline phase timing", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a client that never asks for a batch gets the backlog after BATCH_WAIT_MS, then the end marker", () => {
    const { store } = queue(["message", "receipt", "call"]);
    const events: [string, unknown][] = [];
    const completed: ServerConnection[] = [];
    const offline = new OfflineDelivery({ store, log: (kind, detail) => events.push([kind, detail]), complete: (c) => completed.push(c) });
    const { conn, sent, encoded } = connection();

    offline.begin(conn, "1555", 1);
    // The preview counts the call in `count` only (no client reads a `call` attribute).
    expect(sent).toEqual([{ tag: "ib", attrs: { from: "s.whatsapp.net" }, content: [{ tag: "offline_preview", attrs: { count: "3", message: "1", receipt: "1" } }] }]);
    vi.advanceTimersByTime(BATCH_WAIT_MS - 1);
    expect(encoded).toHaveLength(0);
    // Nothing sent on this socket yet: nothing it could answer.
    expect(offline.sentUpTo(conn)).toBe(0);

    vi.advanceTimersByTime(1);
    expect(encoded).toHaveLength(3);
    expect(events.map(([kind]) => kind)).toEqual(["offline_preview", "offline_batch_unasked", "offline_batch_sent", "offline_complete"]);
    expect(sent.at(-1)).toEqual({ tag: "ib", attrs: { from: "s.whatsapp.net" }, content: [{ tag: "offline", attrs: { count: "3" } }] });
    expect(offline.isLive(conn)).toBe(true);
    expect(completed).toEqual([conn]);
  });

  it("with more than one batch and no request, the next batch waits for every answer to the last", () => {
    const { store } = queue(["message", "message", "message"]);
    const offline = new OfflineDelivery({ store, log: () => {}, complete: () => {} });
    const { conn, encoded } = connection();
    offline.begin(conn, "1555", 1);
    offline.onIb(conn, { tag: "ib", attrs: {}, content: [{ tag: "offline_batch", attrs: { count: "2" } }] });
    expect(encoded).toHaveLength(2);
    // Only what this socket was sent may be answered on it.
    expect(offline.sentUpTo(conn)).toBe(2);
    offline.answered(conn, 1);
    expect(encoded).toHaveLength(2);
    offline.answered(conn, 2);
    expect(encoded).toHaveLength(3);
    expect(offline.isLive(conn)).toBe(true);
  });

  it("a batch asked for before the wait is over goes at once, and the timer then sends nothing more", () => {
    const { store } = queue(["message"]);
    const offline = new OfflineDelivery({ store, log: () => {}, complete: () => {} });
    const { conn, encoded } = connection();
    offline.begin(conn, "1555", 1);
    offline.onIb(conn, { tag: "ib", attrs: {}, content: [{ tag: "offline_batch", attrs: { count: "100" } }] });
    expect(encoded).toHaveLength(1);
    vi.advanceTimersByTime(BATCH_WAIT_MS * 2);
    expect(encoded).toHaveLength(1);
  });

  it("two stanzas with one tag and id each keep their own clock: answering one leaves the other owed", () => {
    const overdue: [string, string][] = [];
    const ledger = new AckLedger(5_000, (tag, id) => overdue.push([tag, id]));
    // A delivered and a read receipt for one message.
    ledger.owe("receipt", "M1");
    ledger.owe("receipt", "M1");
    expect(ledger.count).toBe(2);
    expect(ledger.answered("receipt", "M1")).toBe(true);
    expect(ledger.count).toBe(1);
    expect(ledger.oldest()).toEqual({ tag: "receipt", id: "M1" });

    vi.advanceTimersByTime(5_000);
    expect(overdue).toEqual([["receipt", "M1"]]);
    expect(ledger.count).toBe(0);
    expect(ledger.answered("receipt", "M1")).toBe(false);
  });
});
