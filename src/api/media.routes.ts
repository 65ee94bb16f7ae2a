import { database } from "../db/client";
import { findMessage } from "../db/messages.query";
import { ApiError, notFound } from "./errors";
import type { Api } from "./route";
import { IdParams } from "./schemas";
import { sessionStub } from "../platform/bindings";

export function registerMediaRoutes(api: Api): void {
  api.route({
    method: "get",
    path: "/v1/whatsapp/messages/{id}/media",
    summary: "Download the media of an incoming message (while WhatsApp keeps it)",
    tags: ["Messages"],
    auth: "account",
    params: IdParams,
    responses: {
      200: { description: "The media bytes, with their mimetype", contentType: "application/octet-stream" },
      404: { description: "No such message, or it carries no media" },
      410: { description: "WhatsApp no longer has this media (code `media_expired`)" },
    },
    async handler({ env, auth, params }) {
      const row = await findMessage(database(env), auth.account.id, params.id);
      const media = (row?.metadata as { media?: { filename?: string | null } } | null)?.media;
      if (!row || row.direction !== "incoming" || !media) throw notFound("Media");
      let found: { bytes: Uint8Array; mimetype: string } | null;
      try {
        found = await sessionStub(env, row.whatsappSessionId).incomingMedia(row.id);
      } catch (err) {
        throw new ApiError(410, "media_expired", "WhatsApp no longer serves this media.").withInternal({ message: row.id, err });
      }
      if (!found) throw notFound("Media");
      const headers = new Headers({ "Content-Type": found.mimetype, "Cache-Control": "private, max-age=3600" });
      if (media.filename) headers.set("Content-Disposition", `attachment; filename="${media.filename.replace(/"/g, "")}"`);
      return new Response(found.bytes, { headers });
    },
  });
}
