import { z } from "zod";
import { database } from "../db/client";
import { receiptsOf } from "../db/messages.receipts";
import { findMessage } from "../db/messages.query";
import { notFound } from "./errors";
import { ok } from "./http";
import type { Api } from "./route";
import { IdParams, Timestamp } from "./schemas";

// Who received and read an outgoing message: each group participant that answered, or the one
// recipient of a 1:1 message. The message's own status follows the first participant.

const ReceiptSchema = z
  .object({
    phone_number: z.string().nullable().meta({ description: "The participant's number (digits); null when WhatsApp named them by LID only." }),
    lid: z.string().nullable().meta({ description: "The participant's LID (`…@lid`) when no number is known for it; else null." }),
    delivered_at: Timestamp.nullable(),
    read_at: Timestamp.nullable(),
  })
  .meta({ id: "MessageReceipt" });

export const ReceiptsResponse = z.object({ success: z.literal(true), data: z.object({ receipts: z.array(ReceiptSchema) }) });

export function registerReceiptRoutes(api: Api): void {
  api.route({
    method: "get",
    path: "/v1/whatsapp/messages/{id}/receipts",
    summary: "Each recipient's delivery and read time of a sent message",
    description:
      "A group message lists every participant whose receipt came, in the order they came (the message turns `delivered`/`read` " +
      "with the first one); a 1:1 message lists its recipient. Receipts are written in batches: they can trail the live status by a few seconds.",
    tags: ["Messages"],
    auth: "account",
    params: IdParams,
    responses: { 200: { description: "The receipts", schema: ReceiptsResponse } },
    async handler({ env, auth, params }) {
      const db = database(env);
      const message = await findMessage(db, auth.account.id, params.id);
      if (!message) throw notFound("Message");
      return ok({ data: { receipts: await receiptsOf(db, message) } });
    },
  });
}
