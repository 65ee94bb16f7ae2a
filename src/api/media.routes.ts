import { database } from "../db/client";
import { findMessage } from "../db/messages.query";
import { ApiError, notFound } from "./errors";
import type { Api } from "./route";
import { callObject } from "./object-call";
import { IdParams } from "./schemas";

// The session object says which failure it was (session/incoming-media.ts mediaFailure).
const MEDIA_CODES = { 410: "media_expired", 502: "media_download_failed", 503: "session_unavailable" } as const;
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
      410: { description: "WhatsApp no longer has this media and the sender's phone did not upload it again in time (code `media_expired`)" },
      502: { description: "WhatsApp's media host failed, or the file did not decrypt (code `media_download_failed`)" },
      503: { description: "The media expired and the session is not connected to ask the sender's phone, or the session is unavailable (code `session_unavailable`); try again later" },
    },
    async handler({ env, auth, params }) {
      const row = await findMessage(database(env), auth.account.id, params.id);
      const media = (row?.metadata as { media?: { filename?: string | null } } | null)?.media;
      if (!row || row.direction !== "incoming" || !media) throw notFound("Media");
      const found = await callObject(() => sessionStub(env, row.whatsappSessionId).incomingMedia(row.id), MEDIA_CODES).catch((err) => {
        if (err instanceof ApiError) throw err;
        // The object call itself failed (reset, overloaded): the session is briefly unavailable.
        throw new ApiError(503, "session_unavailable", "The session is unavailable; try again shortly.").withInternal({ message: row.id, err });
      });
      if (!found) throw notFound("Media");
      const headers = new Headers({ "Content-Type": found.mimetype, "Cache-Control": "private, max-age=3600" });
      if (media.filename) headers.set("Content-Disposition", `attachment; filename="${media.filename.replace(/"/g, "")}"`);
      return new Response(found.bytes, { headers });
    },
  });
}
