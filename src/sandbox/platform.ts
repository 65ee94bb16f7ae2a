// What the server accepts as a companion's platform in a pairing-code request
// (`link_code_companion_reg` stage companion_hello): `companion_platform_display` must read
// "Browser (OS)" with a browser and an OS it knows, `companion_platform_id` a companion client
// type; anything else is answered with iq error 400 (whatsmeow pair-code.go PairPhone and its
// PairClient* types; Baileys Utils/companion-reg-client-utils.js). The real lists are not
// published: these are the browsers both clients name and the OSes of Baileys' presets.

export const KNOWN_BROWSERS = ["Chrome", "Edge", "Firefox", "IE", "Opera", "Safari"];
export const KNOWN_OSES = ["Windows", "Mac OS", "Ubuntu", "Linux"];
/** whatsmeow PairClientType values: "0"–"9", "c" (macOS), "e" (Android). */
const CLIENT_TYPES = /^([0-9]|c|e)$/;

/** Why the server refuses this platform, or null when it accepts it. */
export function platformRefusal(display: string | undefined, platformId: string | undefined): string | null {
  if (!platformId || !CLIENT_TYPES.test(platformId)) return `unknown companion_platform_id ${JSON.stringify(platformId ?? null)}`;
  const m = /^([^()]+) \(([^()]+)\)$/.exec(display ?? "");
  if (!m) return `companion_platform_display ${JSON.stringify(display ?? null)} is not "Browser (OS)"`;
  if (!KNOWN_BROWSERS.includes(m[1])) return `unknown browser ${JSON.stringify(m[1])}`;
  if (!KNOWN_OSES.includes(m[2])) return `unknown OS ${JSON.stringify(m[2])}`;
  return null;
}
