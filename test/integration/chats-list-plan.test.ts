import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { chatListQuery } from "../../src/db/chats.repo";

// GET …/chats must cost what the number of chats costs, not the number of messages: D1's own
// query plan for the listing reads `messages` only through seeks on the chat index (never a scan
// of the session's messages), and counts unread rows through the partial unread index.

type Step = { id: number; parent: number; detail: string };

async function planOf(filters: Parameters<typeof chatListQuery>[2], cursor: { at: string; id: string } | null): Promise<Step[]> {
  const q = chatListQuery("acc", "sess", filters, { limit: 20, cursor });
  return (await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).bind(...q.args).all<Step>()).results;
}

describe("the chat listing's query plan", () => {
  for (const [name, filters, cursor] of [
    ["every chat", {}, null],
    ["archived groups, second page", { archived: true, type: "group" as const }, { at: "02026-01-01T00:00:00.000000Z", id: "14155552671" }],
    ["one chat", { chatId: "14155552671" }, null],
  ] as const) {
    it(`${name}: seeks messages by chat, never scans them`, async () => {
      const plan = await planOf(filters, cursor);
      const text = plan.map((s) => s.detail).join("\n");
      const onMessages = plan.filter((s) => /^(SCAN|SEARCH) (messages|m|l|u)\b/.test(s.detail));
      expect(onMessages.length).toBeGreaterThan(0);
      for (const step of onMessages) {
        expect(step.detail, text).toMatch(/^SEARCH \w+ USING (COVERING )?INDEX (messages_session_chat_idx|messages_session_unread_idx|sqlite_autoindex_messages_1) \((whatsapp_session_id=\? AND chat_key|id=\?)/);
        // A range over chat keys is only the skip to the next key (a min() seek in a scalar subquery).
        if (step.detail.includes("chat_key>?")) expect(plan.find((p) => p.id === step.parent)?.detail, text).toMatch(/SCALAR SUBQUERY/);
      }
      expect(text).toContain("messages_session_unread_idx");
    });
  }
});
