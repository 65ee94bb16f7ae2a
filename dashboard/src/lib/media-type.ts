// Incoming media is whatever a contact sent, typed by the sender. Only types a browser shows as
// an <img>/<video>/<audio> keep their type; anything else (HTML, SVG, PDF…) becomes opaque bytes
// that can only be downloaded, never rendered as a document of this origin.
const SAFE = new Set([
  "image/jpeg", "image/png", "image/gif", "image/webp", "image/avif",
  "video/mp4", "video/webm", "video/ogg", "video/3gpp", "video/quicktime",
  "audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg", "audio/opus", "audio/wav", "audio/webm", "audio/amr",
]);

export const OPAQUE = "application/octet-stream";

/** The type a media blob may keep (its base type, lower case), else application/octet-stream. */
export function safeMediaType(type: string): string {
  const base = type.split(";")[0].trim().toLowerCase();
  return SAFE.has(base) ? base : OPAQUE;
}

/** How a blob of that safe type is shown. */
export function mediaKind(safeType: string): "image" | "video" | "audio" | "download" {
  const top = safeType.split("/")[0];
  return top === "image" || top === "video" || top === "audio" ? top : "download";
}
