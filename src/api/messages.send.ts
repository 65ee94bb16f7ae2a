// POST /v1/whatsapp/messages and /messages/batch below their handlers: prepare each send, then
// commit them together and render the answer (messages.accept.ts does the checks and the commit).
import { forgetAccountKeys } from "../db/api-key-cache";
import { forgetAccountSessions } from "../db/session-cache";
import { roundMoney, sumCost } from "../domain/ledger";
import type { MediaProbe } from "../platform/media-fetch";
import { AcceptGate, Settled, acceptContextOf } from "./accept-gate";
import { verifyKey, type AuthContext } from "./auth";
import { ApiError } from "./errors";
import type { IdempotencyContext } from "./idempotency";
import { StaleRead, commitSends, errorReasons, prepareSend, type PreparedSend } from "./messages.accept";
import { SendMessageBody, type SendMessage } from "./messages.schemas";
import { presentMessage } from "./presenters";

// Media downloads run a few at a time for a batch.
const BATCH_CONCURRENCY = 6;

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

/**
 * Runs one accept: with what the request authenticated with (possibly this isolate's cache),
 * then, if the accept batch found the price, plan or a session changed, once more from D1.
 * A refusal the batch did not decide is answered only after the key is checked, and a repeat
 * of a stored Idempotency-Key request gets the stored answer instead (api/accept-gate.ts).
 */
async function accepting(env: Env, auth: AuthContext, idem: IdempotencyContext | null, run: (gate: AcceptGate) => Promise<Response>): Promise<Response> {
  const gate = new AcceptGate(env, acceptContextOf(auth), idem);
  try {
    try {
      return await run(gate);
    } catch (error) {
      if (!(error instanceof StaleRead)) throw error;
      forgetAccountKeys(auth.account.id);
      forgetAccountSessions(auth.account.id);
      const fresh = await verifyKey(env, auth.key.hash);
      gate.ctx = { account: fresh.account, key: fresh.key, cached: false };
      try {
        return await run(gate);
      } catch (again) {
        if (!(again instanceof StaleRead)) throw again;
        throw new ApiError(409, "concurrent_update", "The account changed while this request was processed; retry it.");
      }
    }
  } catch (error) {
    const outcome = error instanceof Settled ? error.outcome : await refusalOf(gate, error);
    if (outcome instanceof Response) return outcome;
    throw outcome;
  }
}

/** What a refusal turns into: a cached key's 401, a repeat's stored answer, or itself. */
async function refusalOf(gate: AcceptGate, error: unknown): Promise<unknown> {
  if (!(error instanceof ApiError) || error.status === 401) return error;
  try {
    await gate.settle();
    return error;
  } catch (settled) {
    if (settled instanceof Settled) return settled.outcome;
    throw settled;
  }
}

/** One send (one row per recipient, one campaign): 201 with the messages. */
export function sendOne(env: Env, auth: AuthContext, body: SendMessage, idem: IdempotencyContext | null): Promise<Response> {
  return accepting(env, auth, idem, async (gate) => {
    const send = await prepareSend(env, gate.ctx.account, body, gate);
    return commitSends(env, gate, [send], (balance, remaining) => ({
      status: 201,
      body: {
        success: true,
        message: "Message queued for sending",
        data: {
          messages: send.rows.map(presentMessage),
          count: send.rows.length,
          total_cost: sumCost(send.rows),
          new_balance: balance,
          remaining_messages: remaining,
          campaign_id: send.campaign.id,
        },
      },
    }));
  });
}

/** Each item validated and checked on its own (`OK` or `REJECTED` with reasons); the accepted ones are charged together. */
export function sendBatch(env: Env, auth: AuthContext, items: unknown[], idem: IdempotencyContext | null): Promise<Response> {
  const media = new Map<string, Promise<MediaProbe>>();
  return accepting(env, auth, idem, async (gate) => {
    const outcomes = await mapLimited(items, BATCH_CONCURRENCY, async (item, index) => {
      const prefix = `messages.${index}.`;
      const parsed = SendMessageBody.safeParse(item);
      if (!parsed.success) {
        return { index, reasons: parsed.error.issues.map((i) => ({ field: prefix + i.path.map(String).join("."), code: i.code, message: i.message })) };
      }
      try {
        return { index, send: await prepareSend(env, gate.ctx.account, parsed.data, gate, media) };
      } catch (error) {
        return { index, reasons: errorReasons(error, prefix) };
      }
    });
    const sends = outcomes.flatMap((o) => (o.send ? [o.send] : []));
    const count = sends.reduce((n, s) => n + s.rows.length, 0);
    return commitSends(env, gate, sends, (balance, remaining) => ({
      status: 200,
      body: {
        success: true,
        data: {
          results: outcomes.map((o) => (o.send ? okResult(o.index, o.send) : { index: o.index, status: "REJECTED", reasons: o.reasons })),
          accepted: sends.length,
          rejected: outcomes.length - sends.length,
          count,
          total_cost: roundMoney(sends.reduce((s, x) => s + sumCost(x.rows), 0)),
          new_balance: balance,
          remaining_messages: remaining,
        },
      },
    }));
  });
}

function okResult(index: number, send: PreparedSend) {
  return { index, status: "OK", id: send.rows[0].id, message_ids: send.rows.map((r) => r.id), campaign_id: send.campaign.id };
}
