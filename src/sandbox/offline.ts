import type { ServerConnection } from "./connection";
import { isOwed } from "./offline.queue";
import { type BinaryNode, SERVER_JID, children, node } from "./stanzas";
import type { WorldStore } from "./world.store";

// The offline phase of a login (docs/protocol/sandbox.md, "Offline delivery"): after `<success>`
// the server announces what waited for the device (`<ib><offline_preview count message receipt
// notification/>`), sends it in batches of the size the client asks for (`<ib><offline_batch
// count/>`, Baileys socket.js asks 100 once; WA Web asks 200 per batch, whatsapp-rust
// offline_resume.rs), marked `offline`, and ends with `<ib><offline count/>`. Until then, new
// stanzas for the device join the queue instead of going out live, so nothing overtakes the backlog.
// A client that asks for no (further) batch (whatsmeow never does) still gets everything: the first
// batch after BATCH_WAIT_MS, the next once the previous one is answered.

/** How long the server waits for the client's first `offline_batch` before sending anyway. */
export const BATCH_WAIT_MS = 1_000;
/** Batch size when the client does not say (Baileys' figure). */
export const DEFAULT_BATCH = 100;
const MAX_BATCH = 1_000;
/** Ids listed in an `offline_batch_sent` event (the event log is for tests and debugging). */
const LOGGED_IDS = 20;

/**
 * Tags the preview counts on their own, named as the tag (whatsmeow connectionevents.go handleIB
 * reads these, plus `appdata`, which the sandbox never queues). Calls and anything else count in
 * `count` only: no client reads a `call` attribute.
 */
const PREVIEW_TAGS: readonly string[] = ["message", "receipt", "notification"];

interface Phase {
  phone: string;
  device: number;
  live: boolean;
  /** The last stored stanza (seq) sent in this phase. */
  cursor: number;
  sent: number;
  batch: number;
  /** Stanzas of the last batch still owed an answer; when none are left the next batch goes. */
  outstanding: Set<number>;
  started: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

export interface OfflineHost {
  store: WorldStore;
  log(kind: string, detail: unknown): void;
  /** The offline phase ended (`<ib><offline/>` sent): the login is complete. */
  complete(conn: ServerConnection): void;
}

export class OfflineDelivery {
  private readonly phases = new Map<ServerConnection, Phase>();

  constructor(private readonly host: OfflineHost) {}

  /** The device may get stanzas live (its offline phase is over). */
  isLive(conn: ServerConnection): boolean {
    return this.phases.get(conn)?.live === true;
  }

  /** The last stored stanza (seq) this socket was sent: what it may answer (all of them once live, none before the phase). */
  sentUpTo(conn: ServerConnection): number {
    const phase = this.phases.get(conn);
    if (!phase) return 0;
    return phase.live ? Number.MAX_SAFE_INTEGER : phase.cursor;
  }

  /** Right after `<success>`: the preview and the wait for a batch request, or at once the end marker. */
  begin(conn: ServerConnection, phone: string, device: number): void {
    const phase: Phase = { phone, device, live: false, cursor: 0, sent: 0, batch: DEFAULT_BATCH, outstanding: new Set(), started: false };
    this.phases.set(conn, phase);
    const byTag = this.host.store.queuedByTag(phone, device);
    const total = Object.values(byTag).reduce((a, b) => a + b, 0);
    // Nothing waited: no preview (whatsmeow events.go: it comes only when there is something to
    // send), but the end marker always, which Baileys waits for to flush its initial event buffer.
    if (total === 0) return this.finish(conn, phase);
    const attrs: Record<string, string> = { count: String(total) };
    for (const tag of PREVIEW_TAGS) if (byTag[tag] > 0) attrs[tag] = String(byTag[tag]);
    conn.send(serverIb(node("offline_preview", attrs)));
    this.host.log("offline_preview", { session: conn.sessionId, ...Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, Number(v)])) });
    phase.timer = setTimeout(() => {
      if (phase.started || conn.state === "closed") return;
      // A bare timer: nothing may throw out of it.
      try {
        this.host.log("offline_batch_unasked", { session: conn.sessionId, waited_ms: BATCH_WAIT_MS });
        this.sendBatch(conn, phase);
      } catch (err) {
        this.host.log("timer_error", { error: String(err) });
      }
    }, BATCH_WAIT_MS);
  }

  /** A client `<ib>`: `<offline_batch count/>` asks for the next batch. */
  onIb(conn: ServerConnection, ib: BinaryNode): void {
    for (const request of children(ib, "offline_batch")) {
      const asked = Number(request.attrs.count);
      const phase = this.phases.get(conn);
      this.host.log("offline_batch_requested", { session: conn.sessionId, count: Number.isFinite(asked) ? asked : null, during_phase: Boolean(phase && !phase.live) });
      if (!phase || phase.live) continue;
      phase.batch = Number.isInteger(asked) && asked > 0 ? Math.min(asked, MAX_BATCH) : DEFAULT_BATCH;
      this.sendBatch(conn, phase);
    }
  }

  /** A stored stanza was answered (its seq); the last batch fully answered lets the next one go. */
  answered(conn: ServerConnection, seq: number): void {
    const phase = this.phases.get(conn);
    if (!phase || phase.live || !phase.outstanding.delete(seq)) return;
    if (phase.outstanding.size === 0) this.sendBatch(conn, phase);
  }

  /** The device was unlinked: a phase under way ends here, with no batch, end marker or completed login. */
  unlinked(conn: ServerConnection): void {
    const phase = this.phases.get(conn);
    if (phase && !phase.live) this.host.log("offline_abandoned", { session: conn.sessionId, reason: "unlinked", sent: phase.sent });
    this.closed(conn);
  }

  closed(conn: ServerConnection): void {
    const phase = this.phases.get(conn);
    if (phase?.timer) clearTimeout(phase.timer);
    this.phases.delete(conn);
  }

  private sendBatch(conn: ServerConnection, phase: Phase): void {
    if (conn.state === "closed") return;
    clearTimeout(phase.timer);
    phase.started = true;
    const { store } = this.host;
    const rows = store.queuedAfter(phase.phone, phase.device, phase.cursor, phase.batch);
    const from = phase.cursor;
    phase.outstanding = new Set();
    const done: number[] = [];
    for (const row of rows) {
      conn.sendEncoded(row.node);
      phase.cursor = row.seq;
      phase.sent++;
      // Kept until answered; a stanza owed no answer is done once sent.
      if (isOwed(row.tag, row.stanza_id)) phase.outstanding.add(row.seq);
      else done.push(row.seq);
    }
    store.markQueuedSent(phase.phone, phase.device, from, phase.cursor);
    store.dropQueued(done);
    const remaining = store.queuedCount(phase.phone, phase.device, phase.cursor);
    this.host.log("offline_batch_sent", {
      session: conn.sessionId,
      count: rows.length,
      remaining,
      ids: rows.slice(0, LOGGED_IDS).map((r) => r.stanza_id),
      redelivered: rows.filter((r) => r.sends > 0).length,
    });
    if (remaining === 0) return this.finish(conn, phase);
    // Nothing in this batch to wait an answer for: the next one goes at once.
    if (phase.outstanding.size === 0) this.sendBatch(conn, phase);
  }

  private finish(conn: ServerConnection, phase: Phase): void {
    phase.live = true;
    conn.send(serverIb(node("offline", { count: String(phase.sent) })));
    this.host.log("offline_complete", { session: conn.sessionId, count: phase.sent });
    this.host.complete(conn);
  }
}

/** A server `<ib>`, from the server's jid (as in the trace in WhatsAPI issue #598; Baileys and whatsmeow route `<ib>` by its child alone). */
const serverIb = (content: BinaryNode): BinaryNode => node("ib", { from: SERVER_JID }, [content]);
