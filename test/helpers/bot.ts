import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { call, type TestAccount } from "./api";

// The auto-reply bot's settings, sandbox contacts writing to a session, and what the bot recorded.

export const botPoll = { timeout: 20_000, interval: 100 };

export async function putBot(account: TestAccount, sessionId: string, body: Record<string, unknown>) {
  const res = await call("PUT", `/v1/whatsapp/sessions/${sessionId}/bot`, { key: account.key, body });
  expect(res.status, res.text).toBe(200);
  return res.json.bot;
}

/** A sandbox phone writes to the session's number; returns the WhatsApp message id. */
export async function contactWrites(account: TestAccount, from: string, to: string, text: string): Promise<string> {
  const res = await call("POST", `/v1/sandbox/phones/${from}/messages`, { key: account.key, body: { to, type: "text", text } });
  expect(res.status, res.text).toBe(201);
  return res.json.message.id;
}

/** What a sandbox phone received (its own messages left out). */
export async function inbox(account: TestAccount, phone: string): Promise<any[]> {
  const res = await call("GET", `/v1/sandbox/phones/${phone}/inbox`, { key: account.key });
  expect(res.status, res.text).toBe(200);
  return res.json.messages.filter((m: any) => m.direction === "in");
}

/** What the bot recorded on the stored incoming message (metadata.bot), once it has decided. */
export async function botOutcome(sessionUuid: string, providerId: string): Promise<{ replied: boolean; reason?: string; reply_id?: string }> {
  let outcome: any;
  await expect
    .poll(async () => {
      const row = await env.DB.prepare(
        "SELECT metadata FROM messages WHERE whatsapp_session_id = ? AND provider_message_id = ? AND direction = 'incoming'",
      )
        .bind(sessionUuid, providerId)
        .first<{ metadata: string | null }>();
      outcome = row?.metadata ? JSON.parse(row.metadata).bot : undefined;
      return outcome !== undefined;
    }, botPoll)
    .toBe(true);
  return outcome;
}

/** Stored messages of one session and direction, oldest first, metadata parsed. */
export async function sessionMessages(sessionUuid: string, direction: "incoming" | "outgoing"): Promise<any[]> {
  const { results } = await env.DB.prepare("SELECT * FROM messages WHERE whatsapp_session_id = ? AND direction = ? ORDER BY created_at, rowid")
    .bind(sessionUuid, direction)
    .all();
  return results.map((r: any) => ({ ...r, metadata: r.metadata ? JSON.parse(r.metadata) : null }));
}
