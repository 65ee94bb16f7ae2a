import { and, count, desc, eq, inArray, lt, or } from "drizzle-orm";
import type { Cursor } from "../domain/cursor";
import type { Db } from "./client";
import { chunks, type CampaignRow, type MessageStatus } from "./messages.rows";
import { campaigns, messages } from "./schema";

export type StatusCounts = Partial<Record<MessageStatus, number>>;

export async function findCampaign(db: Db, accountId: string, id: string): Promise<CampaignRow | undefined> {
  return db.select().from(campaigns).where(and(eq(campaigns.accountId, accountId), eq(campaigns.id, id))).get();
}

/** The account's campaigns, newest first; `cursor` is the last row of the previous page. */
export async function listCampaigns(db: Db, accountId: string, page: { limit: number; cursor: Cursor | null }): Promise<CampaignRow[]> {
  const where = [eq(campaigns.accountId, accountId)];
  if (page.cursor) {
    where.push(or(lt(campaigns.createdAt, page.cursor.createdAt), and(eq(campaigns.createdAt, page.cursor.createdAt), lt(campaigns.id, page.cursor.id)))!);
  }
  return db.select().from(campaigns).where(and(...where)).orderBy(desc(campaigns.createdAt), desc(campaigns.id)).limit(page.limit).all();
}

/** Message count per status of one campaign (statuses with no message are absent). */
export async function campaignStatusCounts(db: Db, campaignId: string): Promise<StatusCounts> {
  return (await statusCountsOf(db, [campaignId])).get(campaignId) ?? {};
}

/** The same counts for several campaigns, in one grouped read per chunk of ids. */
export async function statusCountsOf(db: Db, campaignIds: string[]): Promise<Map<string, StatusCounts>> {
  const out = new Map<string, StatusCounts>();
  for (const part of chunks(campaignIds)) {
    const rows = await db
      .select({ campaignId: messages.campaignId, status: messages.status, n: count() })
      .from(messages)
      .where(inArray(messages.campaignId, part))
      .groupBy(messages.campaignId, messages.status)
      .all();
    for (const r of rows) if (r.campaignId) out.set(r.campaignId, { ...out.get(r.campaignId), [r.status]: r.n });
  }
  return out;
}
