import { z } from "zod";
import { campaignStatusCounts, findCampaign } from "../db/campaigns.repo";
import { database } from "../db/client";
import { notFound } from "./errors";
import { ok } from "./http";
import { CampaignSchema, MESSAGE_STATUSES } from "./messages.schemas";
import type { Api } from "./route";
import { IdParams } from "./schemas";

const DONE = ["sent", "delivered", "read", "failed"] as const;

export function registerCampaignRoutes(api: Api): void {
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
      const found = await campaignStatusCounts(db, campaign.id);
      const counts = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, found[s] ?? 0])) as Record<(typeof MESSAGE_STATUSES)[number], number>;
      const done = DONE.reduce((n, s) => n + counts[s], 0);
      return ok({
        campaign: {
          id: campaign.id,
          whatsapp_session_id: campaign.whatsappSessionId,
          type: campaign.type,
          total: campaign.total,
          delay_between: campaign.delayBetween,
          scheduled_at: campaign.scheduledAt,
          counts,
          progress: { done, percent: campaign.total ? Math.round((done / campaign.total) * 1000) / 10 : 100 },
          created_at: campaign.createdAt,
          updated_at: campaign.updatedAt,
        },
      });
    },
  });
}
