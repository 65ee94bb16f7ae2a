// Small helpers shared by the bench (Node 22, no dependencies): the HTTP client for the local
// gateway, timing and percentiles.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const now = () => performance.now();

/** Where the gateway runs and the credentials `npm run dev` wrote. */
export function target() {
  const base = (process.env.BASE || "http://localhost:8787").replace(/\/+$/, "");
  const url = new URL(base);
  if (!["localhost", "127.0.0.1", "[::1]"].includes(url.hostname)) {
    throw new Error(`BASE must point at a local gateway (npm run dev), got ${base}`);
  }
  const file = path.join(ROOT, ".wrangler/dev-credentials.json");
  const saved = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  return { base, devKey: process.env.DEV_API_KEY || saved.apiKey, adminToken: process.env.ADMIN_TOKEN || saved.adminToken };
}

export class HttpError extends Error {
  constructor(method, path, status, text) {
    super(`${method} ${path} → ${status} ${text.slice(0, 300)}`);
    this.status = status;
  }
}

/** A JSON client for one base URL and bearer token. */
export function client(base, token) {
  async function request(method, path, body, expected = [200, 201]) {
    const headers = { Accept: "application/json", Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!expected.includes(res.status)) throw new HttpError(method, path, res.status, text);
    return text ? JSON.parse(text) : null;
  }
  return {
    token,
    get: (path) => request("GET", path),
    post: (path, body, expected) => request("POST", path, body ?? {}, expected),
    put: (path, body) => request("PUT", path, body),
  };
}

/** Runs `fn` over `items` with at most `limit` in flight; results in order. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Nearest-rank percentile of durations in ms. */
export function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(values) {
  return { n: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: values.length ? Math.max(...values) : null };
}

/** Polls `fn` every `interval` ms until it returns a truthy value; throws after `timeout`. */
export async function waitFor(fn, { timeout = 60_000, interval = 100, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(interval);
  }
}

/** Polls a phone's inbox until a message with this exact text is there; returns when it was seen. */
export async function waitForInbox(api, phone, text, { timeout = 30_000, interval = 20 } = {}) {
  await waitFor(
    async () => {
      const { messages } = await api.get(`/v1/sandbox/phones/${phone}/inbox`);
      return messages.some((m) => m.text === text);
    },
    { timeout, interval, what: `"${text}" in ${phone}'s inbox` },
  );
  return now();
}

export const log = (...args) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);

/**
 * When a burst reached the contacts: polls each recipient's sandbox inbox until the message with
 * this text is there, and returns the first and last arrival (the sandbox stores each message's
 * arrival as its timestamp; wall-clock ms, same machine) and how many never came.
 */
export async function inboxArrivals(api, recipients, text, { timeout = 60_000, interval = 200 } = {}) {
  const arrived = new Map();
  const deadline = Date.now() + timeout;
  let missing = recipients;
  for (;;) {
    await mapLimit(missing, 8, async (phone) => {
      const { messages } = await api.get(`/v1/sandbox/phones/${phone}/inbox`);
      const m = messages.find((x) => x.direction === "in" && x.text === text);
      if (m) arrived.set(phone, Date.parse(m.timestamp));
    });
    missing = recipients.filter((p) => !arrived.has(p));
    if (!missing.length || Date.now() > deadline) break;
    await sleep(interval);
  }
  const at = [...arrived.values()];
  return { first_at: at.length ? Math.min(...at) : null, last_at: at.length ? Math.max(...at) : null, arrived: at.length, missing: missing.length };
}
