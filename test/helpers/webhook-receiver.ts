// Talks to the Node receiver of test/global-setup/webhook-receiver.ts.
import { inject } from "vitest";

export interface ReceivedRequest {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

export function receiverBase(): string {
  return inject("webhookReceiverUrl");
}

/** A fresh endpoint on the receiver: its URL and its key. */
export function newEndpoint(): { key: string; url: string } {
  const key = crypto.randomUUID();
  return { key, url: `${receiverBase()}/r/${key}` };
}

/** Answer the next requests to `key` with `statuses` in turn, then `then`. */
export async function planResponses(key: string, statuses: number[], then = 200): Promise<void> {
  const res = await fetch(`${receiverBase()}/control/plan`, { method: "POST", body: JSON.stringify({ key, statuses, then }) });
  if (!res.ok) throw new Error(`receiver plan failed: ${res.status}`);
}

export async function received(key: string): Promise<ReceivedRequest[]> {
  const res = await fetch(`${receiverBase()}/control/received?key=${encodeURIComponent(key)}`);
  return (await res.json()) as ReceivedRequest[];
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitForRequests(key: string, count: number, timeoutMs?: number): Promise<ReceivedRequest[]> {
  return waitFor(`${count} request(s) at ${key}`, async () => {
    const list = await received(key);
    return list.length >= count ? list : undefined;
  }, timeoutMs);
}
