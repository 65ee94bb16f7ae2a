// Which URLs the gateway will POST to (webhooks and per-message callback_url). Pure.
//
// http/https only, no user:password@ in them, and no loopback, private, link-local or
// otherwise internal hosts unless the deployment allows it (`ALLOW_PRIVATE_WEBHOOK_HOSTS`
// = "on", for local development and tests). Checked on the literal host; a public name
// that resolves to a private address cannot be caught here (Workers do not expose DNS).

export type UrlCheck = { ok: true; url: string } | { ok: false; message: string };

export const MAX_WEBHOOK_URL_LENGTH = 2048;

export function privateHostsAllowed(env: { ALLOW_PRIVATE_WEBHOOK_HOSTS?: string }): boolean {
  return env.ALLOW_PRIVATE_WEBHOOK_HOSTS === "on";
}

function ipv4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

function isPrivateIpv4([a, b]: number[]): boolean {
  return (
    a === 0 || // "this" network
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast, reserved, broadcast
  );
}

function isPrivateIpv6(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "::" || h === "::1") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) {
    const v4 = ipv4(mapped[1]);
    return v4 ? isPrivateIpv4(v4) : true;
  }
  // The WHATWG URL parser writes mapped IPv4 in hex: ::ffff:7f00:1
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mappedHex) {
    const hi = parseInt(mappedHex[1], 16);
    const lo = parseInt(mappedHex[2], 16);
    return isPrivateIpv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  }
  const first = parseInt(h.split(":")[0] || "0", 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 // multicast
  );
}

/** Loopback, private, link-local and internal-only names. */
export function isPrivateHost(hostname: string): boolean {
  let host = hostname.toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) return isPrivateIpv6(host.slice(1, -1));
  if (host.endsWith(".")) host = host.slice(0, -1);
  const v4 = ipv4(host);
  if (v4) return isPrivateIpv4(v4);
  if (!host.includes(".")) return true; // localhost, intranet single labels
  return /\.(localhost|local|internal|intranet|lan|home|corp|localdomain|home\.arpa)$/.test(host);
}

export function checkWebhookUrl(raw: string, options: { allowPrivate: boolean }): UrlCheck {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return { ok: false, message: `The URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters.` };
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return { ok: false, message: "Not a valid absolute URL." };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { ok: false, message: "Only http and https URLs are allowed." };
  if (url.username || url.password) {
    return { ok: false, message: "Credentials in the URL are not allowed; send them as a custom header instead." };
  }
  if (!url.hostname) return { ok: false, message: "The URL has no host." };
  if (!options.allowPrivate && isPrivateHost(url.hostname)) {
    return { ok: false, message: "Loopback, private and internal hosts are not allowed in this deployment." };
  }
  url.hash = "";
  return { ok: true, url: url.toString() };
}
