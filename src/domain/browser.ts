// How a session presents itself to WhatsApp: "Browser (OS)", the name the phone lists under
// Linked devices. The pairing-code request sends it as `companion_platform_display`, and the
// server refuses the request (iq error 400) unless it names a known browser and OS
// (whatsmeow pair-code.go, PairPhone; docs/protocol/faults.md#pairing-code-platform-check).

/** A real pair, as Baileys' Browsers.windows("Chrome") announces it. */
export const DEFAULT_BROWSER = "Chrome (Windows)";

/** "Browser (OS)": no parentheses inside either part. */
export const BROWSER_PATTERN = /^([^()]+?) \(([^()]+)\)$/;

// OS versions of Baileys' presets (Utils/browser-utils.js Browsers); other OSes send none.
const OS_VERSIONS: Record<string, string> = { Windows: "10.0.22631", "Mac OS": "14.4.1", Ubuntu: "22.04.4" };

/**
 * Baileys' `browser` tuple [os, browser, os version] for "Browser (OS)"; null when the text is
 * not of that shape. Baileys sends `${browser} (${os})` back as the platform display.
 */
export function browserTuple(display: string): [string, string, string] | null {
  const m = BROWSER_PATTERN.exec(display.trim());
  if (!m) return null;
  const [, browser, os] = m;
  return [os, browser, OS_VERSIONS[os] ?? ""];
}

/**
 * Baileys announces itself as an Android phone when the browser part names Android
 * (Utils/validate-connection.js, getUserAgent/getClientPayload): not a companion any more.
 */
export function isAndroidBrowser(display: string): boolean {
  const m = BROWSER_PATTERN.exec(display.trim());
  return Boolean(m && m[1].toLowerCase().includes("android"));
}
