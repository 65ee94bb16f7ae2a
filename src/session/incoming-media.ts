import { assertMediaContent, downloadMediaMessage, type WAMessage, type WASocket } from "baileys";
import type { Buffer } from "node:buffer";
import { rpcError } from "../domain/rpc-error";

// The media of a received message, from WhatsApp's media host; when the host no longer has it
// (404/410), the sender's phone is asked to upload it again (`<receipt type="server-error">` →
// `<notification type="mediaretry">`), for a bounded time.

/** How long the sender's phone has to upload expired media again before the API answers 410. */
export const MEDIA_RETRY_TIMEOUT_MS = 20_000;

/** The media is gone from WhatsApp's host and the sender's phone did not bring it back in time. */
export class MediaExpired extends Error {}

/** The media expired and no socket is connected to ask the sender's phone: worth trying again later. */
export class NoSocketForReupload extends Error {}

/** The HTTP status a Baileys error carries (a Boom's `output.statusCode`), if any. */
function statusOf(err: unknown): number | undefined {
  const e = err as { output?: { statusCode?: number }; status?: number } | null;
  return e?.output?.statusCode ?? e?.status;
}

/** The media host's "not here any more". */
function needsReupload(err: unknown): boolean {
  const status = statusOf(err);
  return status === 404 || status === 410;
}

/**
 * What the API answers for a failed download (an RPC error carrying the status): 410 only when
 * the media is truly gone; a socket that is down or closed mid-request is 503 (try again once it
 * is back); anything else from WhatsApp's host (5xx, a network error, a file that does not
 * decrypt) is 502.
 */
export function mediaFailure(err: unknown): Error {
  if (err instanceof MediaExpired) return rpcError(410, "WhatsApp no longer serves this media.");
  // 428: Baileys' "connection closed" while the phone was being asked.
  if (err instanceof NoSocketForReupload || statusOf(err) === 428) {
    return rpcError(503, "The session is not connected; expired media is asked of the sender's phone once it is.");
  }
  const status = statusOf(err);
  return rpcError(502, status ? `WhatsApp's media host answered ${status}.` : "The media could not be downloaded from WhatsApp.");
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MediaExpired(`the sender's phone did not re-upload the media within ${ms} ms`)), ms);
  });
  // The phone may still answer (or the socket close) after the bound: nobody waits then.
  work.catch(() => {});
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * The decrypted bytes, and the message as it now stands (a new direct path after a re-upload,
 * to store so the next download needs no phone). Done here rather than through Baileys'
 * `reuploadRequest` hook: the hook tests `error.status`, which Baileys' own Boom download errors
 * never carry, and its wait for the phone (`updateMediaMessage`) has no limit.
 */
export async function downloadIncomingMedia(socket: WASocket | undefined, msg: WAMessage): Promise<{ bytes: Buffer; reuploaded?: WAMessage }> {
  try {
    return { bytes: await downloadMediaMessage(msg, "buffer", {}) };
  } catch (err) {
    if (!needsReupload(err)) throw err;
    if (!socket) throw new NoSocketForReupload("the media expired and no socket is connected to ask the sender's phone");
    // Baileys names the new file on its own default host unless it fetched media_conn; keep the
    // host this message came with (updateMediaMessage changes the message in place).
    const content = assertMediaContent(msg.message);
    const host = content.url ? new URL(content.url).host : undefined;
    const updated = await withTimeout(socket.updateMediaMessage(msg), MEDIA_RETRY_TIMEOUT_MS);
    const fresh = assertMediaContent(updated.message);
    if (host && fresh.directPath) fresh.url = `https://${host}${fresh.directPath}`;
    return { bytes: await downloadMediaMessage(updated, "buffer", {}), reuploaded: updated };
  }
}
