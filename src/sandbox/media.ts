import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, timingSafeEqual } from "node:crypto";
import { getMediaKeys } from "baileys/lib/Utils/messages-media.js";
import { SANDBOX_MEDIA_DOMAIN, isSandboxMediaHost } from "../runtime/media-target";
import type { MediaRef, MediaStatus, MediaType } from "./content";
import { hmacSha256, random, sha256 } from "./crypto";
import type { WorldStore } from "./world.store";

// The sandbox's media server: what mmg.whatsapp.net does for uploads (POST /mms/<type>/<hash>)
// and downloads (GET <directPath>), plus WhatsApp's media encryption for simulated phones.

/** Bytes per SQLite row (a Durable Object row holds at most 2 MB). */
export const MEDIA_CHUNK_BYTES = 1 << 20;
export const MAX_MEDIA_BYTES = 64 << 20;
const AUTH_TTL_S = 6 * 3600;
/** Lifetime of a direct path (`oe`); WhatsApp's media stays downloadable for weeks, not forever. */
const DEFAULT_TTL_S = 30 * 86400;

// The path class WhatsApp uses per media type, so direct paths look like real ones.
const PATH_CLASS: Record<string, string> = {
  image: "t62.7118-24",
  sticker: "t62.15575-24",
  video: "t62.7161-24",
  audio: "t62.7117-24",
  document: "t62.7119-24",
};

const b64url = (b: Buffer) => b.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** The media host a connecting session gave us, if it is a sandbox one. */
export function validMediaHost(host: string | null | undefined): string | undefined {
  return host && /^[a-z0-9-]{1,63}\./.test(host) && isSandboxMediaHost(host) ? host.toLowerCase() : undefined;
}

export const DEFAULT_MEDIA_HOST = SANDBOX_MEDIA_DOMAIN;

/** Baileys' own key expansion (HKDF with the media type's info string). */
async function mediaKeys(mediaKey: Buffer, type: MediaType): Promise<{ iv: Buffer; cipherKey: Buffer; macKey: Buffer }> {
  const k = await getMediaKeys(mediaKey, type);
  return { iv: Buffer.from(k.iv!), cipherKey: Buffer.from(k.cipherKey!), macKey: Buffer.from(k.macKey!) };
}

/** WhatsApp media encryption: AES-256-CBC under keys expanded from a random media key, 10-byte HMAC. */
export async function encryptMedia(plain: Uint8Array, type: MediaType, mediaKey: Buffer = random(32)) {
  const { iv, cipherKey, macKey } = await mediaKeys(mediaKey, type);
  const c = createCipheriv("aes-256-cbc", cipherKey, iv);
  const enc = Buffer.concat([c.update(plain), c.final()]);
  const mac = hmacSha256(Buffer.concat([iv, enc]), macKey).subarray(0, 10);
  const file = Buffer.concat([enc, mac]);
  return { mediaKey, file, fileSha256: sha256(plain), fileEncSha256: sha256(file), fileLength: plain.length };
}

/** Checks and opens a downloaded file: encrypted hash, MAC, then plaintext hash. */
export async function decryptMedia(file: Buffer, ref: MediaRef): Promise<{ status: MediaStatus; plain?: Buffer }> {
  if (ref.file_enc_sha256 && !sha256(file).equals(Buffer.from(ref.file_enc_sha256, "base64"))) return { status: "enc_hash_mismatch" };
  const { iv, cipherKey, macKey } = await mediaKeys(Buffer.from(ref.media_key, "base64"), ref.media_type);
  const enc = file.subarray(0, file.length - 10);
  const mac = file.subarray(file.length - 10);
  const expected = hmacSha256(Buffer.concat([iv, enc]), macKey).subarray(0, 10);
  if (mac.length !== 10 || !timingSafeEqual(mac, expected)) return { status: "mac_mismatch" };
  let plain: Buffer;
  try {
    const d = createDecipheriv("aes-256-cbc", cipherKey, iv);
    plain = Buffer.concat([d.update(enc), d.final()]);
  } catch {
    return { status: "decrypt_failed" };
  }
  if (ref.file_sha256 && !sha256(plain).equals(Buffer.from(ref.file_sha256, "base64"))) return { status: "hash_mismatch" };
  return { status: "ok", plain };
}

/** The blob id a direct path or URL names (`/v/<class>/<id>.enc?...`). */
export function blobIdOf(pathOrUrl: string | null | undefined): string | undefined {
  if (!pathOrUrl) return undefined;
  const path = pathOrUrl.startsWith("/") ? pathOrUrl : (() => {
    try {
      const u = new URL(pathOrUrl);
      return u.pathname + u.search;
    } catch {
      return "";
    }
  })();
  return /^\/v\/[\w.-]+\/([0-9a-f]{32})\.enc(?:\?|$)/.exec(path)?.[1];
}

export class MediaServer {
  constructor(private readonly store: WorldStore, private readonly secret: Buffer) {}

  /** media_conn `auth`: who may upload, until when (signed, so it survives restarts). */
  authToken(phone: string, device: number): string {
    const body = `${phone}.${device}.${Math.floor(Date.now() / 1000) + AUTH_TTL_S}`;
    return `${body}.${b64url(hmacSha256(Buffer.from(`auth:${body}`), this.secret))}`;
  }

  private checkAuth(token: string): string | undefined {
    const parts = token.split(".");
    if (parts.length !== 4) return undefined;
    const body = parts.slice(0, 3).join(".");
    const sig = Buffer.from(b64url(hmacSha256(Buffer.from(`auth:${body}`), this.secret)));
    const given = Buffer.from(parts[3]);
    if (sig.length !== given.length || !timingSafeEqual(sig, given)) return undefined;
    if (Number(parts[2]) < Date.now() / 1000) return undefined;
    return `${parts[0]}:${parts[1]}`;
  }

  /** `oh`: signs the blob id together with its expiry `oe`, so a client cannot extend a path by editing `oe`. */
  private signature(id: string, oe: string): string {
    return `01_${b64url(hmacSha256(Buffer.from(`blob:${id}:${oe}`), this.secret)).slice(0, 32)}`;
  }

  /** Stores an encrypted file; returns the direct path clients download it from, valid until its `oe`. */
  put(file: Buffer, type: string, uploader: string): { id: string; directPath: string } {
    const id = random(16).toString("hex");
    this.store.putBlob({ id, media_type: type, enc_sha256: sha256(file).toString("base64"), uploader }, file, MEDIA_CHUNK_BYTES);
    return { id, directPath: this.directPath(id, type) };
  }

  /** A fresh direct path to a stored file (valid until its new `oe`), or undefined when it is gone. */
  reissue(id: string, type: string): string | undefined {
    return this.store.blobInfo(id) ? this.directPath(id, type) : undefined;
  }

  private directPath(id: string, type: string): string {
    const oe = Math.floor(Date.now() / 1000 + this.ttlSeconds()).toString(16).toUpperCase();
    // `type` comes from the upload URL: only own keys, never Object.prototype's (`/mms/constructor/…`).
    const cls = Object.hasOwn(PATH_CLASS, type) ? PATH_CLASS[type] : PATH_CLASS.document;
    return `/v/${cls}/${id}.enc?ccb=11-4&oh=${this.signature(id, oe)}&oe=${oe}&_nc_sid=5e03e0`;
  }

  /** How long a new direct path stays valid: fault `expire_media` with `ttl` shortens it, else DEFAULT_TTL_S. */
  private ttlSeconds(): number {
    const ttl = Number(this.store.getMeta("media_ttl_s")?.toString() ?? 0);
    return ttl > 0 ? ttl : DEFAULT_TTL_S;
  }

  /**
   * Fault `expire_media` with `ttl`: direct paths issued from now on expire after `ttl` seconds, for
   * the whole account until changed; a `ttl` of the default (30 days) or more removes the override.
   */
  setTtl(seconds: number): void {
    this.store.setMeta("media_ttl_s", Buffer.from(String(seconds >= DEFAULT_TTL_S ? 0 : seconds)));
  }

  /** The stored file a media reference points at (a URL or direct path of this server). */
  get(ref: Pick<MediaRef, "direct_path" | "url">): Buffer | undefined {
    const id = blobIdOf(ref.direct_path) ?? blobIdOf(ref.url);
    return id ? this.store.blobData(id) : undefined;
  }

  /**
   * Fault `expire_media`: every file stored so far is past its expiry. The host answers 410 for it
   * (Baileys re-requests on 404/410, whatsmeow on 403/404/410); the phones still hold their copies.
   */
  expireStored(): void {
    this.store.setMeta("media_expired_through", Buffer.from(String(Date.now())));
  }

  private expired(id: string): boolean {
    const through = Number(this.store.getMeta("media_expired_through")?.toString() ?? 0);
    const info = this.store.blobInfo(id);
    return Boolean(info && info.created_at <= through);
  }

  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname.startsWith("/mms/")) return this.upload(request, url);
    if ((request.method === "GET" || request.method === "HEAD") && url.pathname.startsWith("/v/")) return this.download(request, url);
    return json({ error: "not found" }, 404);
  }

  private async upload(request: Request, url: URL): Promise<Response> {
    const uploader = this.checkAuth(url.searchParams.get("auth") ?? "");
    if (!uploader) return json({ error: "unauthorized" }, 401);
    const type = url.pathname.split("/")[2] ?? "";
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > MAX_MEDIA_BYTES) return json({ error: "too large" }, 413);
    const file = Buffer.from(await request.arrayBuffer());
    if (file.length > MAX_MEDIA_BYTES) return json({ error: "too large" }, 413);
    // The token is the file's encrypted hash (base64url), as Baileys names the upload.
    const token = url.searchParams.get("token") ?? url.pathname.split("/")[3] ?? "";
    if (b64url(sha256(file)) !== token.replace(/=+$/, "")) return json({ error: "hash mismatch" }, 400);
    const { directPath } = this.put(file, type, uploader);
    return json({ url: `https://${url.hostname}${directPath}`, direct_path: directPath, ts: Math.floor(Date.now() / 1000) });
  }

  private download(request: Request, url: URL): Response {
    const id = blobIdOf(url.pathname + url.search);
    const oe = url.searchParams.get("oe") ?? "";
    if (!id || !/^[0-9A-F]{1,12}$/.test(oe) || !sameText(url.searchParams.get("oh") ?? "", this.signature(id, oe))) return new Response("not found", { status: 404 });
    // Past its `oe` the path is dead even if the file is still stored. 410 is the sandbox's choice:
    // public reports show mmg answering 403 or 404; Baileys asks for a re-upload on 404 and 410 alike.
    const file = this.expired(id) || parseInt(oe, 16) * 1000 <= Date.now() ? undefined : this.store.blobData(id);
    if (!file) return new Response("gone", { status: 410 });
    const headers = { "content-type": "application/octet-stream", "accept-ranges": "bytes" };
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.get("range") ?? "");
    if (range) {
      const start = Number(range[1]);
      const end = Math.min(range[2] ? Number(range[2]) : file.length - 1, file.length - 1);
      if (start > end) return new Response(null, { status: 416, headers: { "content-range": `bytes */${file.length}` } });
      return new Response(request.method === "HEAD" ? null : file.subarray(start, end + 1), {
        status: 206,
        headers: { ...headers, "content-range": `bytes ${start}-${end}/${file.length}`, "content-length": String(end - start + 1) },
      });
    }
    return new Response(request.method === "HEAD" ? null : file, { headers: { ...headers, "content-length": String(file.length) } });
  }
}

/** Constant-time comparison of a presented signature with the expected one. */
function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
