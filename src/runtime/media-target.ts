import { createHash } from "node:crypto";

// Routes Baileys' media HTTP traffic for sandbox sessions to the account's SandboxObject.
// Baileys uploads with node:https and downloads with fetch; in workerd both end up in the global
// fetch, so one wrapper sees them all. Only hosts under SANDBOX_MEDIA_DOMAIN (RFC 2606 .invalid,
// never resolvable) are touched, and only if a sandbox session in this isolate registered that
// host: every other request, including every real-WhatsApp one, reaches the original fetch unchanged.

export const SANDBOX_MEDIA_DOMAIN = "media.sandbox.invalid";

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
  globalThis.fetch = function sandboxAwareFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const url = input instanceof Request ? input.url : String(input);
    let host: string;
    try {
      host = new URL(url).hostname.toLowerCase();
    } catch {
      return base(input, init);
    }
    if (!isSandboxMediaHost(host)) return base(input, init);
    const target = targets.get(host);
    // Fail closed: a sandbox host nobody registered here must not be retried anywhere else.
    if (!target) return Promise.reject(new Error(`no sandbox media target registered for ${host}`));
    return target.fetch(new Request(input, init));
  } as typeof fetch;
}
