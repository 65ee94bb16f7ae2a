import { allowPrivateMediaHosts, fetchMediaUrl, MediaUrlProblem } from "../platform/media-fetch";
import { readAllCapped, StreamTooLarge } from "../domain/capped-stream";
import { checkMimetype, isMediaType, MEDIA_RULES, normalizeMimetype, sniffMimetype } from "../domain/media-policy";
import type { FetchedMedia } from "./message-content";

// The session downloads a message's media when it sends it (the API only probed it), under
// the same rules: allowed hosts at every redirect, the type's size limit, a sniffed type.

const TIMEOUT_MS = 60_000;

export class MediaDownloadError extends Error {
  constructor(
    readonly code: string,
    readonly permanent: boolean,
    message: string,
  ) {
    super(message);
  }
}

export async function downloadMedia(env: Env, type: string, url: string): Promise<FetchedMedia> {
  if (!isMediaType(type)) throw new MediaDownloadError("unsupported_media_type", true, `${type} messages carry no media`);
  let response: Response;
  try {
    response = await fetchMediaUrl(url, {}, allowPrivateMediaHosts(env), TIMEOUT_MS);
  } catch (err) {
    if (err instanceof MediaUrlProblem) throw new MediaDownloadError(err.code, err.permanent, err.message);
    throw err;
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    // 4xx will not change on retry; 5xx might.
    throw new MediaDownloadError("media_unreachable", response.status < 500, `media_url answered HTTP ${response.status}`);
  }
  const max = MEDIA_RULES[type].maxBytes;
  let bytes: Uint8Array;
  try {
    bytes = await readAllCapped(response.body, max);
  } catch (err) {
    if (err instanceof StreamTooLarge) throw new MediaDownloadError("media_too_large", true, `the ${type} grew past ${max} bytes`);
    throw err;
  }
  const verdict = checkMimetype(type, normalizeMimetype(response.headers.get("Content-Type")), sniffMimetype(bytes.subarray(0, 32)));
  if (!verdict.ok) throw new MediaDownloadError(verdict.code, true, verdict.message);
  return { bytes, mimetype: verdict.mimetype };
}
