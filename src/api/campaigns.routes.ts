import { z } from "zod";
import { campaignStatusCounts, findCampaign } from "../db/campaigns.repo";
import { database } from "../db/client";
import { notFound } from "./errors";
import { ok } from "./http";
import { CampaignSchema } from "./messages.schemas";
import { presentCampaign } from "./presenters";
import type { Api } from "./route";
import { IdParams } from "./schemas";

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
      return ok({ campaign: presentCampaign(campaign, await campaignStatusCounts(db, campaign.id)) });
    },
  });
}
