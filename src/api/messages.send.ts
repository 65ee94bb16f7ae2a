// POST /v1/whatsapp/messages and /messages/batch below their handlers: prepare each send, then
// commit them together and render the answer (messages.accept.ts does the checks and the commit).
import type { AccountRow } from "../db/accounts.repo";
import type { MediaProbe } from "../platform/media-fetch";
import type { IdempotencyContext } from "./idempotency";
import { commitSends, errorReasons, prepareSend, type PreparedSend } from "./messages.accept";
import { SendMessageBody, type SendMessage } from "./messages.schemas";
import { presentMessage } from "./presenters";

// Media downloads run a few at a time for a batch.
const BATCH_CONCURRENCY = 6;

const roundMoney = (x: number) => Math.round(x * 1e6) / 1e6;

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/** One send (one row per recipient, one campaign): 201 with the messages. */
export async function sendOne(env: Env, account: AccountRow, body: SendMessage, idem: IdempotencyContext | null): Promise<Response> {
  const send = await prepareSend(env, account, body, idem?.key ?? null);
  return commitSends(env, account, [send], idem, (balance, remaining) => ({
    status: 201,
    body: {
      success: true,
      message: "Message queued for sending",
      data: {
        messages: send.rows.map(presentMessage),
        count: send.rows.length,
        total_cost: roundMoney(send.rows.reduce((s, r) => s + r.cost, 0)),
        new_balance: balance,
        remaining_messages: remaining,
        campaign_id: send.campaign.id,
      },
    },
  }));
}

/** Each item validated and checked on its own (`OK` or `REJECTED` with reasons); the accepted ones are charged together. */
export async function sendBatch(env: Env, account: AccountRow, items: unknown[], idem: IdempotencyContext | null): Promise<Response> {
  const media = new Map<string, Promise<MediaProbe>>();
  const outcomes = await mapLimited(items, BATCH_CONCURRENCY, async (item, index) => {
    const prefix = `messages.${index}.`;
    const parsed = SendMessageBody.safeParse(item);
    if (!parsed.success) {
      return { index, reasons: parsed.error.issues.map((i) => ({ field: prefix + i.path.map(String).join("."), code: i.code, message: i.message })) };
    }
    try {
      return { index, send: await prepareSend(env, account, parsed.data, idem?.key ?? null, media) };
    } catch (error) {
      return { index, reasons: errorReasons(error, prefix) };
    }
  });
  const sends = outcomes.flatMap((o) => (o.send ? [o.send] : []));
  const count = sends.reduce((n, s) => n + s.rows.length, 0);
  return commitSends(env, account, sends, idem, (balance, remaining) => ({
    status: 200,
    body: {
      success: true,
      data: {
        results: outcomes.map((o) => (o.send ? okResult(o.index, o.send) : { index: o.index, status: "REJECTED", reasons: o.reasons })),
        accepted: sends.length,
        rejected: outcomes.length - sends.length,
        count,
        total_cost: roundMoney(sends.reduce((s, x) => s + x.rows.reduce((t, r) => t + r.cost, 0), 0)),
        new_balance: balance,
        remaining_messages: remaining,
      },
    },
  }));
}

function okResult(index: number, send: PreparedSend) {
  return { index, status: "OK", id: send.rows[0].id, message_ids: send.rows.map((r) => r.id), campaign_id: send.campaign.id };
}
