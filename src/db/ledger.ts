import type { Db } from "./client";
import { acceptSends, type AcceptInput, type AcceptResult } from "./messages.accept";

// Paying for sends, for every sender (API, batch, bot): one accept batch, which checks the
// balance and the daily count and debits in the same transaction, so it never loses a race to
// retry. The money rules are listed in domain/ledger.ts; refunds are the failing of a pending
// row (messages.status.ts).

export function payForSends(db: Db, input: AcceptInput): Promise<AcceptResult> {
  return acceptSends(db, input);
}
