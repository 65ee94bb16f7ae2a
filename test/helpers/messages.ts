import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { expect } from "vitest";
import { database } from "../../src/db/client";
import { call } from "./api";

/** Distinct, valid US numbers for bulk recipients. */
export function numbers(count: number, start = 0): string[] {
  return Array.from({ length: count }, (_, i) => `+1415555${String(1000 + start + i).padStart(4, "0")}`);
}

export async function send(key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return call("POST", "/v1/whatsapp/messages", { key, body, headers });
}

export async function balanceOf(key: string): Promise<number> {
  const res = await call("GET", "/v1/account", { key });
  expect(res.status, res.text).toBe(200);
  return res.json.account.balance;
}

/** Rows of the account straight from D1 (what was stored, whatever the API says). */
export async function storedCounts(accountId: string) {
  const row = await database(env).get<{ messages: number; campaigns: number; usage: number }>(sql`
    SELECT (SELECT count(*) FROM messages WHERE account_id = ${accountId}) AS messages,
           (SELECT count(*) FROM campaigns WHERE account_id = ${accountId}) AS campaigns,
           coalesce((SELECT sum(messages) FROM daily_usage WHERE account_id = ${accountId}), 0) AS usage`);
  return row!;
}

/** A time far enough ahead that the message stays `scheduled` through the test. */
export const farFuture = () => new Date(Date.now() + 7 * 86_400_000).toISOString();

/** linkedSession() for beforeAll (expect.poll only works inside a test). */
export async function connectedSession(key: string): Promise<{ id: string; session_id: string; phone_number: string }> {
  const phone = await call("POST", "/v1/sandbox/phones", { key, body: {} });
  if (phone.status !== 201) throw new Error(`phone: ${phone.status} ${phone.text}`);
  const created = await call("POST", "/v1/whatsapp/sessions", { key, body: { sandbox: true } });
  if (created.status !== 201) throw new Error(`session: ${created.status} ${created.text}`);
  const id = created.json.session.id;
  const scan = await call("POST", `/v1/sandbox/sessions/${id}/scan`, { key, body: { phone_number: phone.json.phone.phone_number } });
  if (scan.status !== 200) throw new Error(`scan: ${scan.status} ${scan.text}`);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const s = (await call("GET", `/v1/whatsapp/sessions/${id}`, { key })).json.session;
    if (s.status === "connected") return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("session did not connect");
}
