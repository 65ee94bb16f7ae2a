// Checks a media_url at accept time, so a message that cannot be sent is refused now rather
// than failing later: HEAD for a cheap early answer, then a streamed GET that counts bytes,
// stops past the type's limit, sniffs the leading bytes and hashes the content. Nothing is
// buffered; the session object downloads the media again when it sends.
import { checkMimetype, checkSize, formatBytes, isGenericMimetype, MEDIA_RULES, mediaUrlProblem, normalizeMimetype, sniffMimetype, type MediaType } from "../domain/media-policy";
import { forEachChunkCapped, StreamTooLarge } from "../domain/capped-stream";
import { ApiError } from "../domain/errors";

const MAX_REDIRECTS = 5;
const HEAD_TIMEOUT_MS = 5_000;
const GET_TIMEOUT_MS = 30_000;
const SNIFF_BYTES = 32;

export interface MediaProbe {
  mimetype: string;
  size: number;
  sha256: string;
}

export function allowPrivateMediaHosts(env: Env): boolean {
  return env.ALLOW_PRIVATE_MEDIA_HOSTS === "on";
}

const field = (message: string, code: string) => [{ field: "media_url", in: "body" as const, code, message }];
const unreachable = (message: string) => new ApiError(422, "media_unreachable", message, field(message, "media_unreachable"));
const refused = (message: string) => new ApiError(422, "validation_failed", "The request is invalid.", field(message, "media_url_not_allowed"));

/** Why a media URL could not be fetched: refused by the host rules, or unreachable. */
export class MediaUrlProblem extends Error {
  constructor(
    readonly code: "media_url_not_allowed" | "media_unreachable",
    /** A refused URL or a redirect loop will not change on retry; a network error might. */
    readonly permanent: boolean,
    message: string,
  ) {
    super(message);
  }
}

/**
 * fetch that follows redirects by hand, so every hop's host is checked against the media
 * host rules. Used when a message is accepted and again when its session sends it.
 */
export async function fetchMediaUrl(url: string, init: RequestInit, allowPrivate: boolean, timeoutMs: number): Promise<Response> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const problem = mediaUrlProblem(current, allowPrivate);
    if (problem) {
      throw hop === 0
        ? new MediaUrlProblem("media_url_not_allowed", true, problem)
        : new MediaUrlProblem("media_unreachable", true, `media_url redirects to a refused URL: ${problem}`);
    }
    let response: Response;
    try {
      response = await fetch(current, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new MediaUrlProblem("media_unreachable", false, `media_url could not be fetched: ${error instanceof Error ? error.message : String(error)}`);
    }
    const location = response.headers.get("Location");
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      current = new URL(location, current).toString();
      continue;
    }
    return response;
  }
  throw new MediaUrlProblem("media_unreachable", true, `media_url redirects more than ${MAX_REDIRECTS} times.`);
}

async function fetchChecked(url: string, init: RequestInit, allowPrivate: boolean, timeoutMs: number): Promise<Response> {
  try {
    return await fetchMediaUrl(url, init, allowPrivate, timeoutMs);
  } catch (error) {
    if (!(error instanceof MediaUrlProblem)) throw error;
    throw error.code === "media_url_not_allowed" ? refused(error.message) : unreachable(error.message);
  }
}

function verdictError(verdict: { code: "unsupported_media_type" | "media_too_large"; message: string }): ApiError {
  return new ApiError(verdict.code === "media_too_large" ? 413 : 422, verdict.code, verdict.message, field(verdict.message, verdict.code));
}

export async function probeMedia(env: Env, type: MediaType, url: string): Promise<MediaProbe> {
  const allowPrivate = allowPrivateMediaHosts(env);
  const max = MEDIA_RULES[type].maxBytes;

  // HEAD is advisory: many servers refuse or misreport it, the GET below is authoritative.
  try {
    const head = await fetchChecked(url, { method: "HEAD" }, allowPrivate, HEAD_TIMEOUT_MS);
    if (head.ok) {
      const length = Number(head.headers.get("Content-Length"));
      if (Number.isFinite(length) && length > 0) {
        const tooLarge = checkSize(type, length);
        if (tooLarge) throw verdictError(tooLarge as never);
      }
      const declared = normalizeMimetype(head.headers.get("Content-Type"));
      // A generic label is settled by sniffing the GET; a specific wrong one is final.
      if (!isGenericMimetype(declared)) {
        const verdict = checkMimetype(type, declared, null);
        if (!verdict.ok) throw verdictError(verdict);
      }
    }
  } catch (error) {
    if (error instanceof ApiError && error.code !== "media_unreachable") throw error;
  }

  const response = await fetchChecked(url, { method: "GET" }, allowPrivate, GET_TIMEOUT_MS);
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw unreachable(`media_url answered HTTP ${response.status}.`);
  }
  const declaredLength = Number(response.headers.get("Content-Length"));
  if (Number.isFinite(declaredLength) && declaredLength > max) {
    await response.body.cancel();
    throw verdictError(checkSize(type, declaredLength) as never);
  }

  const digest = new crypto.DigestStream("SHA-256");
  const writer = digest.getWriter();
  const head = new Uint8Array(SNIFF_BYTES);
  let size = 0;
  try {
    size = await forEachChunkCapped(response.body, max, async (value, offset) => {
      if (offset < SNIFF_BYTES) head.set(value.subarray(0, SNIFF_BYTES - offset), offset);
      await writer.write(value);
    });
  } catch (error) {
    // The server did not say how large it is; we only know it passed the limit.
    if (error instanceof StreamTooLarge) throw verdictError({ code: "media_too_large", message: `A ${type} may be at most ${formatBytes(max)}; this one is larger.` });
    if (error instanceof ApiError) throw error;
    throw unreachable(`media_url download failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await writer.close().catch(() => {});
  }
  if (size === 0) throw verdictError({ code: "unsupported_media_type", message: "media_url returned an empty file." });

  const verdict = checkMimetype(type, normalizeMimetype(response.headers.get("Content-Type")), sniffMimetype(head.subarray(0, Math.min(size, SNIFF_BYTES))));
  if (!verdict.ok) throw verdictError(verdict);
  const sha256 = [...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { mimetype: verdict.mimetype, size, sha256 };
}
