// Which media each message type accepts and how large it may be. Where the APIs the gateway
// serves differ (one allows images of 16 MB and videos of 64 MB, another 5 MB and 16 MB) the
// gateway takes the larger, since it must do everything each of them does.

export const MEDIA_TYPES = ["image", "video", "audio", "document", "sticker"] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

const MB = 1024 * 1024;

interface MediaRule {
  maxBytes: number;
  /** null: any well-formed MIME type (documents). */
  mimetypes: readonly string[] | null;
}

export const MEDIA_RULES: Record<MediaType, MediaRule> = {
  // JPEG, PNG, WebP, GIF (16 MB).
  image: { maxBytes: 16 * MB, mimetypes: ["image/jpeg", "image/png", "image/webp", "image/gif"] },
  // MP4, 3GPP, 3GPP2, MOV, WebM (64 MB).
  video: { maxBytes: 64 * MB, mimetypes: ["video/mp4", "video/3gpp", "video/3gpp2", "video/quicktime", "video/webm"] },
  // MP3, OGG, Opus, AAC, MP4, AMR, WAV, WebM (16 MB).
  audio: {
    maxBytes: 16 * MB,
    mimetypes: ["audio/mpeg", "audio/mp3", "audio/ogg", "audio/opus", "audio/aac", "audio/mp4", "audio/x-m4a", "audio/amr", "audio/wav", "audio/x-wav", "audio/wave", "audio/webm"],
  },
  // Any valid MIME type, 100 MB.
  document: { maxBytes: 100 * MB, mimetypes: null },
  // WhatsApp stickers are WebP, 100 KB static and 500 KB animated.
  sticker: { maxBytes: 500 * 1024, mimetypes: ["image/webp"] },
};

export function isMediaType(type: string): type is MediaType {
  return (MEDIA_TYPES as readonly string[]).includes(type);
}

/** "Image/JPEG; charset=binary" → "image/jpeg"; null when not a MIME type at all. */
export function normalizeMimetype(header: string | null | undefined): string | null {
  if (!header) return null;
  const essence = header.split(";")[0].trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(essence) ? essence : null;
}

// Servers often label files generically; then the leading bytes decide.
const GENERIC = new Set(["application/octet-stream", "binary/octet-stream", "application/binary", "application/unknown"]);

export function isGenericMimetype(mimetype: string | null): boolean {
  return mimetype === null || GENERIC.has(mimetype);
}

function startsWith(bytes: Uint8Array, signature: number[], offset = 0): boolean {
  return signature.every((b, i) => bytes[offset + i] === b);
}

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** MIME type from a file's leading bytes (the formats WhatsApp media use), or null. */
export function sniffMimetype(head: Uint8Array): string | null {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(head, ascii("GIF87a")) || startsWith(head, ascii("GIF89a"))) return "image/gif";
  if (startsWith(head, ascii("RIFF")) && startsWith(head, ascii("WEBP"), 8)) return "image/webp";
  if (startsWith(head, ascii("RIFF")) && startsWith(head, ascii("WAVE"), 8)) return "audio/wav";
  if (startsWith(head, ascii("%PDF-"))) return "application/pdf";
  if (startsWith(head, ascii("OggS"))) return "audio/ogg";
  if (startsWith(head, ascii("#!AMR"))) return "audio/amr";
  if (startsWith(head, ascii("ID3")) || (head[0] === 0xff && (head[1] & 0xe0) === 0xe0 && (head[1] & 0x06) !== 0)) return "audio/mpeg";
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) return "video/webm";
  if (startsWith(head, ascii("ftyp"), 4)) {
    const brand = String.fromCharCode(...head.slice(8, 12));
    if (brand.startsWith("3g2")) return "video/3gpp2";
    if (brand.startsWith("3gp")) return "video/3gpp";
    if (brand === "qt  ") return "video/quicktime";
    if (brand === "M4A ") return "audio/mp4";
    return "video/mp4";
  }
  return null;
}

export type MediaVerdict =
  | { ok: true; mimetype: string }
  | { ok: false; code: "unsupported_media_type" | "media_too_large"; message: string };

export function checkSize(type: MediaType, bytes: number): MediaVerdict | null {
  const { maxBytes } = MEDIA_RULES[type];
  if (bytes <= maxBytes) return null;
  return { ok: false, code: "media_too_large", message: `A ${type} may be at most ${formatBytes(maxBytes)}; this one is ${formatBytes(bytes)}.` };
}

/**
 * Decides the mimetype to send: the server's label when it is specific, else the sniffed one;
 * then checks it against the type's allowed list.
 */
export function checkMimetype(type: MediaType, declared: string | null, sniffed: string | null): MediaVerdict {
  const mimetype = isGenericMimetype(declared) ? (sniffed ?? declared) : declared;
  const { mimetypes } = MEDIA_RULES[type];
  if (!mimetype) {
    return { ok: false, code: "unsupported_media_type", message: `The ${type} has no recognisable content type.` };
  }
  if (mimetypes && !mimetypes.includes(mimetype)) {
    return {
      ok: false,
      code: "unsupported_media_type",
      message: `A ${type} must be one of ${mimetypes.join(", ")}; got ${mimetype}.`,
    };
  }
  return { ok: true, mimetype };
}

export function formatBytes(bytes: number): string {
  if (bytes >= MB) return `${Math.round((bytes / MB) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KB`;
  return `${bytes} bytes`;
}

function ipv4Private(host: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return (
    a === 0 || a === 10 || a === 127 || a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19))
  );
}

function ipv6Private(host: string): boolean {
  if (!host.startsWith("[")) return false;
  const ip = host.slice(1, -1).toLowerCase();
  if (ip === "::" || ip === "::1") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped) return ipv4Private(mapped[1]);
  // The URL parser writes mapped IPv4 as hex (::ffff:7f00:1).
  const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (hexMapped) {
    const hi = parseInt(hexMapped[1], 16);
    const lo = parseInt(hexMapped[2], 16);
    return ipv4Private(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  }
  return /^f[cd]/.test(ip) || /^fe[89ab]/.test(ip) || ip.startsWith("ff");
}

/** Hosts that name the gateway's own machine or network rather than the public internet. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") || host.endsWith(".internal")) return true;
  if (!host.includes(".") && !host.startsWith("[")) return true; // single-label intranet names
  return ipv4Private(host) || ipv6Private(host);
}

/** Why a media URL may not be fetched, or null when it may. */
export function mediaUrlProblem(raw: string, allowPrivateHosts: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "Not a valid URL.";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "Only http and https URLs are fetched.";
  if (url.username || url.password) return "URLs with credentials are refused; use a signed URL instead.";
  if (!allowPrivateHosts && isPrivateHost(url.hostname)) return "The host is private or local; media must come from a public host.";
  return null;
}
