import { and, eq } from "drizzle-orm";
import { now, utcDay } from "../domain/time";
import type { ApiKeyRow } from "./api-keys.repo";
import type { Db } from "./client";
import { accounts, apiKeys, dailyUsage } from "./schema";

export type AccountRow = typeof accounts.$inferSelect;

export function newAccountRow(input: { name: string; plan: string; balance: number; messageCost: number }): AccountRow {
  const at = now();
  return { id: crypto.randomUUID(), ...input, createdAt: at, updatedAt: at };
}

export async function findAccount(db: Db, id: string): Promise<AccountRow | undefined> {
  return db.select().from(accounts).where(eq(accounts.id, id)).get();
}

export async function messagesToday(db: Db, accountId: string, day = utcDay()): Promise<number> {
  const row = await db
    .select({ messages: dailyUsage.messages })
    .from(dailyUsage)
    .where(and(eq(dailyUsage.accountId, accountId), eq(dailyUsage.day, day)))
    .get();
  return row?.messages ?? 0;
}


/** One batch: never an account without its key. */
export async function insertAccountWithKey(db: Db, account: AccountRow, key: ApiKeyRow): Promise<void> {
  await db.batch([db.insert(accounts).values(account), db.insert(apiKeys).values(key)]);
}
