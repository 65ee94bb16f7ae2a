// What an accept (POST /messages, /messages/batch) may answer before its batch. The batch
// re-checks a key read from this isolate's cache; anything answered without it (a 404 telling
// which sessions exist, a stored Idempotency-Key answer, a media fetch to the client's URL)
// first checks the key in D1. Only those paths pay that trip; the fast path never does.
import type { AccountRow } from "../db/accounts.repo";
import type { ApiKeyRow } from "../db/api-keys.repo";
import { database } from "../db/client";
import { verifyKey, type AuthContext } from "./auth";
import { ApiError } from "./errors";
import { answerOf, findIdempotencyRow, type IdempotencyContext, type IdempotencyRow } from "./idempotency";

/** Who is sending; a key from the cache is always there to re-check. */
export type AcceptContext = { account: AccountRow; cached: true; key: ApiKeyRow } | { account: AccountRow; cached: false; key: ApiKeyRow | null };

export const acceptContextOf = (auth: AuthContext): AcceptContext =>
  auth.cached ? { account: auth.account, key: auth.key, cached: true } : { account: auth.account, key: auth.key, cached: false };

/** The request's answer, thrown past a batch item's own error handling (which keeps ApiErrors as reasons). */
export class Settled extends Error {
  constructor(readonly outcome: Response | ApiError) {
    super("settled");
  }
}

export class AcceptGate {
  /** The row under the request's Idempotency-Key, read from the start, alongside the session. */
  readonly stored: Promise<IdempotencyRow | undefined> | undefined;
  private keyCheck?: Promise<AccountRow>;

  constructor(
    private readonly env: Env,
    public ctx: AcceptContext,
    readonly idem: IdempotencyContext | null,
  ) {
    this.stored = idem ? findIdempotencyRow(database(env), ctx.account.id, idem.key) : undefined;
    // Awaited only on some paths; a failed read must not surface as an unhandled rejection.
    this.stored?.catch(() => undefined);
  }

  /** The account as D1 has it with the key, checked once; the request's own for a key read from D1. */
  checkKey(): Promise<AccountRow> {
    const ctx = this.ctx;
    if (!ctx.cached) return Promise.resolve(ctx.account);
    this.keyCheck ??= verifyKey(this.env, ctx.key.hash).then(
      (fresh) => fresh.account,
      (error: unknown) => {
        throw error instanceof ApiError ? new Settled(error) : error;
      },
    );
    return this.keyCheck;
  }

  /** Before a step that costs a trip: a repeat gets its stored answer (or 422 reused key), key checked first. */
  async repeat(): Promise<void> {
    if (!this.stored || !this.idem) return;
    let found: Response | "expired" | null;
    try {
      found = answerOf(await this.stored, this.idem);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      await this.checkKey();
      throw new Settled(error);
    }
    if (found instanceof Response) {
      await this.checkKey();
      throw new Settled(found);
    }
  }

  /** Before an answer the batch did not decide, or a media fetch: the key, then a repeat's stored answer. */
  async settle(): Promise<AccountRow> {
    const account = await this.checkKey();
    await this.repeat();
    return account;
  }
}
