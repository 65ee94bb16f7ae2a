import { assertMediaContent, downloadMediaMessage, type WAMessage, type WASocket } from "baileys";
import type { Buffer } from "node:buffer";

// The media of a received message, from WhatsApp's media host; when the host no longer has it
// (404/410), the sender's phone is asked to upload it again (`<receipt type="server-error">` →
// `<notification type="mediaretry">`), for a bounded time.

/** How long the sender's phone has to upload expired media again before the API answers 410. */
export const MEDIA_RETRY_TIMEOUT_MS = 20_000;

/** The media is gone from WhatsApp's host and the sender's phone did not bring it back in time. */
export class MediaExpired extends Error {}

/** The media host's "not here any more" (Baileys' download error is a Boom carrying the HTTP status). */
function needsReupload(err: unknown): boolean {
  const e = err as { output?: { statusCode?: number }; status?: number } | null;
  const status = e?.output?.statusCode ?? e?.status;
  return status === 404 || status === 410;
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
    if (!socket) throw new MediaExpired("the media expired and no socket is connected to ask the sender's phone");
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
