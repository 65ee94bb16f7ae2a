import { and, count, eq } from "drizzle-orm";
import type { Db } from "./client";
import type { CampaignRow, MessageStatus } from "./messages.rows";
import { campaigns, messages } from "./schema";

export async function findCampaign(db: Db, accountId: string, id: string): Promise<CampaignRow | undefined> {
  return db.select().from(campaigns).where(and(eq(campaigns.accountId, accountId), eq(campaigns.id, id))).get();
}

/** Message count per status of one campaign (statuses with no message are absent). */
export async function campaignStatusCounts(db: Db, campaignId: string): Promise<Partial<Record<MessageStatus, number>>> {
  const rows = await db
    .select({ status: messages.status, n: count() })
    .from(messages)
    .where(eq(messages.campaignId, campaignId))
    .groupBy(messages.status)
    .all();
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
