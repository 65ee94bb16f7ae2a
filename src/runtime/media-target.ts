import { createHash } from "node:crypto";
import { timingSafeEqualString } from "../domain/api-keys";

// Routes Baileys' media HTTP traffic for sandbox sessions to the account's SandboxObject.
// Baileys uploads with node:https and downloads with fetch; in workerd both end up in the global
// fetch, so one wrapper sees them all. Only hosts under SANDBOX_MEDIA_DOMAIN (RFC 2606 .invalid,
// never resolvable) are touched, and only if a sandbox session in this isolate registered that
// host: every other request, including every real-WhatsApp one, reaches the original fetch unchanged.
// The one exception: a request to WhatsApp's default media host that carries SANDBOX_MEDIA_HEADER
// (only sandbox sockets set it) goes to the sandbox host it names.

export const SANDBOX_MEDIA_DOMAIN = "media.sandbox.invalid";

/**
 * WhatsApp's default media host. Baileys downloads what is named by a direct path alone (history
 * sync blobs, app-state snapshots) from it (Utils/messages-media.js getUrlFromDirectPath).
 */
export const WHATSAPP_MEDIA_HOST = "mmg.whatsapp.net";

/**
 * Set on a sandbox session's media requests (Baileys passes its socket `options.headers` to every
 * download): `<isolate token>:<sandbox media host>`, the host that stands in for WhatsApp's default
 * one for that session. The token is random per isolate, so no header a user sets elsewhere (a
 * webhook's custom headers, say) can route a request into a sandbox.
 */
export const SANDBOX_MEDIA_HEADER = "x-sandbox-media-host";
let token: string | undefined;
// Made on first use: workerd refuses random values at global scope.
const isolateToken = (): string => (token ??= crypto.randomUUID());

/** The SANDBOX_MEDIA_HEADER value for an account's sandbox sessions in this isolate. */
export const sandboxMediaMarker = (accountId: string): string => `${isolateToken()}:${sandboxMediaHost(accountId)}`;

/** The sandbox host a marker names, if it carries this isolate's token. */
function markedHost(marker: string | null): string | undefined {
  const cut = marker?.indexOf(":") ?? -1;
  if (!marker || cut < 0 || !timingSafeEqualString(marker.slice(0, cut), isolateToken())) return undefined;
  const host = marker.slice(cut + 1).toLowerCase();
  return isSandboxMediaHost(host) ? host : undefined;
}

/** The header a request will carry, read without building a Request when there are none. */
function markerOf(input: RequestInfo | URL, init?: RequestInit): string | null {
  if (init?.headers) return new Headers(init.headers).get(SANDBOX_MEDIA_HEADER);
  return input instanceof Request ? input.headers.get(SANDBOX_MEDIA_HEADER) : null;
}

export interface MediaTarget {
  fetch(request: Request): Promise<Response>;
}

const targets = new Map<string, MediaTarget>();
let originalFetch: typeof fetch | undefined;

/**
 * The media host of an account's sandbox: derived from the account id so message URLs stay valid
 * across restarts of either object, hashed so it is a valid DNS label whatever the id looks like.
 */
export function sandboxMediaHost(accountId: string): string {
  const label = createHash("sha256").update(accountId).digest("hex").slice(0, 32);
  return `m${label}.${SANDBOX_MEDIA_DOMAIN}`;
}

export const isSandboxMediaHost = (host: string): boolean => host.toLowerCase().endsWith(`.${SANDBOX_MEDIA_DOMAIN}`);

/** Registers (or replaces) the target of a sandbox media host; installs the fetch wrapper once. */
export function registerMediaTarget(host: string, target: MediaTarget): void {
  if (!isSandboxMediaHost(host)) throw new Error(`${host} is not a sandbox media host`);
  installMediaFetch();
  targets.set(host.toLowerCase(), target);
}

export function installMediaFetch(): void {
  if (originalFetch) return;
  const base = globalThis.fetch;
  originalFetch = base;
  const routeOrPass = (host: string, input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    if (!isSandboxMediaHost(host)) return base(input, init);
    const target = targets.get(host);
    // Fail closed: a sandbox host nobody registered here must not be retried anywhere else.
    if (!target) return Promise.reject(new Error(`no sandbox media target registered for ${host}`));
    return target.fetch(new Request(input, init));
  };
  globalThis.fetch = function sandboxAwareFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const url = input instanceof Request ? input.url : String(input);
    let host: string;
    try {
      host = new URL(url).hostname.toLowerCase();
    } catch {
      return base(input, init);
    }
    const marker = markerOf(input, init);
    if (marker !== null) {
      // The marker never leaves the isolate: stripped from every request, wherever it goes.
      const request = new Request(input, init);
      request.headers.delete(SANDBOX_MEDIA_HEADER);
      if (host !== WHATSAPP_MEDIA_HOST) return routeOrPass(host, request);
      const via = markedHost(marker);
      // Only a sandbox socket's own download names a host with this isolate's token.
      if (!via) return base(request);
      // A sandbox session's download by direct path: its sandbox's media host, never the real CDN.
      const target = targets.get(via);
      if (!target) return Promise.reject(new Error(`no sandbox media target registered for ${via}`));
      const url = new URL(request.url);
      url.hostname = via;
      return target.fetch(new Request(url, request));
    }
    return routeOrPass(host, input, init);
  } as typeof fetch;
}
