import { runInDurableObject } from "cloudflare:test";
import { sessionOf } from "./sandbox-client";

// Reads and test hooks inside a session object (its private parts), for the status-journal tests.

/** Runs `read` inside the session object. */
export function inside<T>(sessionId: string, read: (o: any) => T): Promise<Awaited<T>> {
  const stub: DurableObjectStub = sessionOf(sessionId);
  return runInDurableObject(stub, async (instance) => await read(instance)) as Promise<Awaited<T>>;
}

/** Status changes journaled and not yet in D1. */
export function journalSize(sessionId: string): Promise<number> {
  return inside(sessionId, (o) => o.journal.size() as number);
}

/** Journaled `sent` changes, by message id → WhatsApp id. */
export function journaledSent(sessionId: string): Promise<Record<string, string>> {
  return inside(sessionId, (o) =>
    Object.fromEntries(
      (o.journal.take(1000) as { change: { messageId: string; kind: string; waId: string } }[])
        .filter((e) => e.change.kind === "sent")
        .map((e) => [e.change.messageId, e.change.waId]),
    ),
  );
}

/** Test hook: flushes do nothing while held (status-flush.ts). */
export function holdFlushes(sessionId: string, held: boolean): Promise<void> {
  return inside(sessionId, (o) => {
    o.flusher.heldByTest = held;
  });
}
