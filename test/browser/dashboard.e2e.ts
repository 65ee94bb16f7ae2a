// The dashboard as a new user walks through it, in order: each test starts where the last one
// left the page (one tab, one account made for this run), and saves a screenshot.
import { copyFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, inject, test } from "vitest";
import { launch, offlineContext, SCREENSHOTS, screenshot, type Offline } from "./browser";
import { readQr } from "./qr";
import { startReceiver, type Receiver } from "./receiver";

const baseUrl = inject("baseUrl");
const adminToken = inject("adminToken");
const run = Date.now().toString(36);
// Each run has its own account, so names need no suffix of their own.
const sessionName = "Support line";

let browser: Browser;
let offline: Offline;
let page: Page;
let receiver: Receiver;
// Filled in as the walk goes on.
let apiKey = "";
let alice = "";
let bob = "";

beforeAll(async () => {
  browser = await launch();
  offline = await offlineContext(browser, baseUrl);
  offline.context.setDefaultTimeout(30_000);
  page = await offline.context.newPage();
  receiver = await startReceiver();
});
afterAll(async () => {
  await browser?.close();
  await receiver?.close();
});
// The dashboard makes no request to another origin, whatever the page.
afterEach(() => expect(offline.foreign).toEqual([]));

const nav = (name: string) => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
const form = (heading: string) => page.locator("form").filter({ has: page.getByRole("heading", { name: heading, exact: true }) });

test("signs in: the admin token creates an account, its key signs in", async () => {
  await page.goto(baseUrl);
  const admin = form("Create an account (admin)");
  await admin.getByLabel("Admin token").fill(adminToken);
  await admin.getByLabel("Account name").fill(`Browser test ${run}`);
  await admin.getByLabel("Plan").selectOption("pro");
  await admin.getByLabel("Starting balance").fill("100000");
  await admin.getByRole("button", { name: "Create account" }).click();
  const secret = page.getByRole("region", { name: "API key" });
  apiKey = (await secret.locator("code").textContent()) ?? "";
  expect(apiKey).toMatch(/^wag_/);
  await screenshot(page, "1-account-created");

  // Sign in as a returning user would, with the keyboard only: Tab to the key, type it, Enter.
  await page.evaluate(() => sessionStorage.clear());
  await page.reload();
  // The app moves focus to the page's heading once it has rendered; Tab goes on from there.
  await page.waitForFunction(`document.activeElement?.matches("main h1")`);
  await page.keyboard.press("Tab");
  expect(await form("Sign in").getByLabel("API key").evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
  await page.keyboard.type(apiKey);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Sessions" }).waitFor();
  await screenshot(page, "1-signed-in");
});

test("creates a sandbox session and shows its QR code", async () => {
  const create = form("New session");
  await create.getByLabel("Session name").fill(sessionName);
  await create.getByLabel("Sandbox WhatsApp (no phone needed)").check();
  await create.getByRole("button", { name: "Create session" }).click();
  await page.getByRole("heading", { level: 1, name: `Session ${sessionName}` }).waitFor();
  const qr = page.getByRole("img", { name: "QR code to link this session" });
  await qr.waitFor();
  // The image is a real QR code with WhatsApp's link payload, readable from the screen.
  expect(await readQr(qr)).toMatch(/^(https:\/\/wa\.me\/settings\/linked_devices#)?2@/);
  await screenshot(page, "2-session-qr");
});

test("links the session from the sandbox playground; it shows connected", async () => {
  // The playground in a second tab opened from this one (it inherits the tab's key), while the
  // session page stays open on its QR and follows the session's event stream.
  const [playground] = await Promise.all([
    offline.context.waitForEvent("page"),
    page.evaluate(`window.open("/#/sandbox")`),
  ]);
  await playground.getByRole("heading", { level: 1, name: "Sandbox playground" }).waitFor();
  const phoneForm = playground.locator("form").filter({ has: playground.getByRole("heading", { name: "New phone" }) });
  for (const name of ["Alice", "Bob"]) {
    await phoneForm.getByLabel("Phone name").fill(name);
    await phoneForm.getByRole("button", { name: "Create phone" }).click();
    const created = playground.getByRole("status").filter({ hasText: new RegExp(`Phone ${name} \\(\\+?\\d+\\) created`) });
    const number = /\((\+?\d+)\)/.exec((await created.textContent()) ?? "")![1];
    if (name === "Alice") alice = number;
    else bob = number;
  }
  const link = playground.locator("form").filter({ has: playground.getByRole("heading", { name: "Link a session" }) });
  await link.getByLabel("Session to link").selectOption({ label: sessionName });
  await link.getByLabel("Phone that scans").selectOption({ label: `Alice (${alice})` });
  await link.getByRole("button", { name: "Scan QR code" }).click();
  await playground.getByRole("status").filter({ hasText: /Scan QR code: done/ }).waitFor();
  await screenshot(playground, "3-playground-scanned");
  await playground.close();

  // The session page, never reloaded, shows the link and the phone's number and name.
  await page.getByRole("img", { name: "QR code to link this session" }).waitFor({ state: "detached" });
  const facts = page.locator("dl.facts").first();
  await facts.getByText("connected", { exact: true }).waitFor();
  await facts.getByText(`${alice} (Alice)`).waitFor();
  await screenshot(page, "3-session-page-connected");

  await nav("Sessions");
  const row = page.getByRole("row").filter({ hasText: sessionName });
  await row.getByText("connected", { exact: true }).waitFor();
  await row.getByText(`${alice} (Alice)`).waitFor();
  await screenshot(page, "3-session-connected", false);
  // The README's picture: UPDATE_DOCS_SCREENSHOT=1 npm run test:browser
  if (process.env.UPDATE_DOCS_SCREENSHOT) copyFileSync(resolve(SCREENSHOTS, "3-session-connected.png"), resolve(import.meta.dirname, "../../docs/dashboard.png"));
});

test("sends a text from the session page and sees it delivered in the messages list", async () => {
  const text = "Your code is 482913";
  await page.getByRole("link", { name: sessionName, exact: true }).click();
  const send = form("Send a message");
  await send.getByLabel("Recipients").fill(bob);
  await send.getByLabel("Message type").selectOption("text");
  await send.getByLabel("Message text").fill(text);
  await send.getByRole("button", { name: "Send message" }).click();
  // The seed 000 answer: one message, its cost, the new balance.
  expect(await page.getByLabel("Send result").innerText()).toMatch(/Count\s+1\s+Total cost\s+10\s+New balance\s+99990\s/);
  await screenshot(page, "4-message-sent");

  await nav("Messages");
  const row = page.getByRole("row").filter({ hasText: text });
  await row.getByText("delivered", { exact: true }).waitFor();
  await screenshot(page, "4-message-delivered");
});

test("creates a webhook, shows its secret once, and lists a delivery with its attempt", async () => {
  const hook = `${receiver.url}/hooks/${run}`;
  await nav("Webhooks");
  const create = form("New webhook");
  await create.getByLabel("Webhook URL").fill(hook);
  await create.getByRole("button", { name: "Create webhook" }).click();
  const secret = page.getByRole("region", { name: "Signing secret" });
  expect(await secret.locator("code").textContent()).toMatch(/^whsec_/);

  const card = page.getByRole("article", { name: `Webhook ${hook}` });
  await card.getByRole("button", { name: "Send test ping" }).click();
  const delivery = card.getByRole("listitem").filter({ hasText: "webhook.test" });
  await delivery.getByText("1 attempt", { exact: false }).waitFor();
  const attempt = delivery.getByRole("row").filter({ hasText: "#1" });
  await attempt.getByRole("cell", { name: "200", exact: true }).waitFor();
  // The attempt the page shows is the request the receiver got, signed.
  const got = receiver.received.filter((r) => r.path === `/hooks/${run}` && r.body.includes('"webhook.test"'));
  expect(got).toHaveLength(1);
  expect(got[0].headers["webhook-signature"]).toMatch(/^v1,/);
  await screenshot(page, "5-webhook-delivery");
});

test("creates an API key and revokes it; the key no longer works", async () => {
  await nav("API keys");
  const create = form("New key");
  await create.getByLabel("Key name").fill("old laptop");
  await create.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByRole("region", { name: "API key" }).locator("code").textContent()) ?? "";
  const account = () => fetch(`${baseUrl}/v1/account`, { headers: { Authorization: `Bearer ${key}` } }).then((r) => r.status);
  expect(await account()).toBe(200);

  await page.getByRole("button", { name: "Revoke old laptop", exact: true }).click();
  await page.getByRole("button", { name: "Confirm revoke old laptop", exact: true }).click();
  const row = page.getByRole("row").filter({ hasText: "old laptop" });
  await row.getByText("revoked", { exact: true }).waitFor();
  expect(await account()).toBe(401);
  await screenshot(page, "6-key-revoked");
});

test("reads in dark mode and fits a phone-sized screen", async () => {
  await nav("Sessions");
  await page.getByRole("row").filter({ hasText: sessionName }).waitFor();
  await page.emulateMedia({ colorScheme: "dark" });
  await page.setViewportSize({ width: 390, height: 844 });
  // Dark: a dark page behind light text. Narrow: nothing wider than the screen.
  const look = await page.evaluate(`(() => {
    const luminance = (css) => {
      const [r, g, b] = css.match(/\\d+(\\.\\d+)?/g).map(Number);
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    };
    const body = getComputedStyle(document.body);
    const text = getComputedStyle(document.querySelector("main h1"));
    return { background: luminance(body.backgroundColor), text: luminance(text.color), overflow: document.documentElement.scrollWidth - innerWidth };
  })()`);
  expect(look).toMatchObject({ overflow: 0 });
  expect((look as { background: number }).background).toBeLessThan(0.25);
  expect((look as { text: number }).text).toBeGreaterThan(0.75);
  await screenshot(page, "7-dark-narrow");
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 1280, height: 800 });
});
