// Debian's Chromium driven by playwright-core, with the flags this machine needs
// (/work/.library/env/machines/node.md). launch() gives every browser a fresh temporary profile.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const SCREENSHOTS = resolve(import.meta.dirname, "screenshots");

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}

export interface Offline {
  context: BrowserContext;
  /** Every URL the pages asked for that was not on the gateway's origin (blocked, but asked). */
  foreign: string[];
}

// The network is blocked: only the gateway's own origin answers; everything else is aborted
// and recorded, so a test can also assert that nothing tried to leave.
export async function offlineContext(browser: Browser, baseUrl: string): Promise<Offline> {
  const origin = new URL(baseUrl).origin;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const foreign: string[] = [];
  const isOwn = (url: string) => url.startsWith("data:") || url.startsWith("blob:") || new URL(url).origin === origin;
  await context.route("**", (route) => {
    const url = route.request().url();
    if (isOwn(url)) return route.continue();
    foreign.push(url);
    return route.abort("internetdisconnected");
  });
  context.on("request", (request) => {
    const url = request.url();
    if (!isOwn(url) && !foreign.includes(url)) foreign.push(url);
  });
  context.on("page", (page) => page.on("websocket", (ws) => !isOwn(ws.url().replace(/^ws/, "http")) && foreign.push(ws.url())));
  return { context, foreign };
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`), fullPage });
}
