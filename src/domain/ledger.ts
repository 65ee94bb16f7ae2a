// The money rules of sending: a message costs its account's message_cost at accept time, a
// send debits count × cost, a failed message gives its own cost back, and the balance is shown
// to six decimals. Computed here for answers; the debit and the balance check run as SQL in
// db/messages.accept.ts (acceptSends), the refund in db/messages.status.ts (failing rows).
export { remainingMessages } from "./plans";

/** Rounds a money figure to six decimals (costs may be fractional). */
export const roundMoney = (x: number): number => Math.round(x * 1e6) / 1e6;

/** What `count` messages cost at `messageCost` each. */
export const costOf = (count: number, messageCost: number): number => roundMoney(count * messageCost);

/** What rows cost (each carries its own cost): the debit of a send, or the refund of failed rows. */
export const sumCost = (rows: readonly { cost: number }[]): number => roundMoney(rows.reduce((s, r) => s + r.cost, 0));
