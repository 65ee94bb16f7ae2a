import { z } from "zod";
import { campaignStatusCounts, findCampaign, listCampaigns, statusCountsOf } from "../db/campaigns.repo";
import { database } from "../db/client";
import { decodeCursor, encodeCursor } from "../domain/cursor";
import { notFound, unprocessable } from "./errors";
import { ok } from "./http";
import { CampaignSchema } from "./messages.schemas";
import { presentCampaign } from "./presenters";
import type { Api } from "./route";
import { IdParams, queryInt } from "./schemas";

const ListCampaignsQuery = z.object({
  limit: queryInt(1, 100, 20),
  cursor: z.string().max(500).optional().meta({ description: "`next_cursor` of the previous page." }),
});

const EXAMPLE = {
  id: "0b6f3c1e-2a4d-4c8e-9f10-5e7a1b2c3d4e",
  whatsapp_session_id: "7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6",
  type: "text",
  total: 3,
  delay_between: 500,
  scheduled_at: null,
  counts: { queued: 1, scheduled: 0, sent: 1, delivered: 1, read: 0, failed: 0 },
  progress: { done: 2, percent: 66.7 },
  created_at: "2026-12-07T10:00:00.000Z",
  updated_at: "2026-12-07T10:00:01.000Z",
};

export function registerCampaignRoutes(api: Api): void {
  api.route({
    method: "get",
    path: "/v1/whatsapp/campaigns",
    summary: "List the account's campaigns (newest first, cursor pagination), each with its counts and progress",
    description: "Pass `next_cursor` as `cursor` for the next page; null means the last page.",
    tags: ["Messages"],
    auth: "account",
    query: ListCampaignsQuery,
    responses: {
      200: {
        description: "A page of campaigns",
        schema: z
          .object({ success: z.literal(true), campaigns: z.array(CampaignSchema), next_cursor: z.string().nullable() })
          .meta({ example: { success: true, campaigns: [EXAMPLE], next_cursor: null } }),
      },
    },
    async handler({ env, auth, query }) {
      const cursor = query.cursor ? decodeCursor(query.cursor) : null;
      if (query.cursor && !cursor) throw unprocessable([{ field: "cursor", in: "query", message: "Not a cursor this API returned." }]);
      const db = database(env);
      const rows = await listCampaigns(db, auth.account.id, { limit: query.limit + 1, cursor });
      const page = rows.slice(0, query.limit);
      const counts = await statusCountsOf(db, page.map((c) => c.id));
      return ok({
        campaigns: page.map((c) => presentCampaign(c, counts.get(c.id) ?? {})),
        next_cursor: rows.length > query.limit ? encodeCursor(page[page.length - 1]) : null,
      });
    },
  });

  api.route({
    method: "get",
    path: "/v1/whatsapp/campaigns/{id}",
    summary: "A campaign (one send to many recipients): counts per status and progress",
    tags: ["Messages"],
    auth: "account",
    params: IdParams,
    responses: { 200: { description: "The campaign", schema: z.object({ success: z.literal(true), campaign: CampaignSchema }) } },
    async handler({ env, auth, params }) {
      const db = database(env);
      const campaign = await findCampaign(db, auth.account.id, params.id);
      if (!campaign) throw notFound("Campaign");
      return ok({ campaign: presentCampaign(campaign, await campaignStatusCounts(db, campaign.id)) });
    },
  });
}
