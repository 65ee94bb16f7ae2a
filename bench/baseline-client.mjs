// The baseline: a plain Node.js process running the same Baileys (7.0.0-rc14, from node_modules)
// the way WAHA's NOWEB engine or Evolution API do underneath — one makeWASocket, keys in files
// (useMultiFileAuthState), sock.sendMessage in a loop. It links to the account's sandbox through
// the gateway's WebSocket proxy (GET /v1/sandbox/ws/chat) and is paired by a sandbox phone
// scanning its QR (POST /v1/sandbox/clients/{label}/scan).
//
// Run by bench/run.mjs with fork(), twice: the in-process baseline (ops latency/inbox/burst) and
// the HTTP baseline (op listen: the same socket behind http-baseline.mjs). It receives {op, ...}
// messages over IPC and answers {id, ok, result | error}. Standalone it does nothing.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import makeWASocket, { DisconnectReason, useMultiFileAuthState, WA_CERT_DETAILS } from "baileys";
import P from "pino";
import { serveHttp } from "./http-baseline.mjs";
import { client, now, waitForInbox } from "./lib.mjs";

const { BASE, KEY, LABEL } = process.env;
if (!process.send || !BASE || !KEY || !LABEL) {
  console.error("baseline-client.mjs is started by bench/run.mjs");
  process.exit(2);
}
const api = client(BASE, KEY);
// libsignal logs every session it opens or closes to the console; the parent owns the output.
for (const level of ["log", "info", "warn", "debug"]) console[level] = () => {};
const jid = (phone) => `${phone.replace(/^\+/, "")}@s.whatsapp.net`;

let sock;
let authDir;
let closing = false;
let isOpen = false;
let reconnects = 0;
let waiters = [];
let httpServer;

/** Trust the sandbox's Noise root in this process only (what a self-hosted stack would patch). */
async function trustSandbox() {
  const { trust_root } = await api.get("/v1/sandbox/trust-root");
  WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(trust_root, "base64");
}

/** Until the socket is open (it reconnects by itself, as Baileys apps such as WAHA do). */
function opened(timeoutMs = 60_000) {
  if (isOpen) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`baseline socket not open after ${timeoutMs} ms`)), timeoutMs);
    waiters.push(() => (clearTimeout(timer), resolve()));
  });
}

function connect(state, saveCreds, ownerPhone) {
  const wsUrl = `${BASE.replace(/^http/, "ws")}/v1/sandbox/ws/chat?client=${encodeURIComponent(LABEL)}`;
  sock = makeWASocket({
    auth: state,
    waWebSocketUrl: wsUrl,
    options: { headers: { Authorization: `Bearer ${KEY}` } },
    logger: P({ level: "silent" }),
    browser: ["Baseline", "Chrome", "1.0"],
    markOnlineOnConnect: false,
    syncFullHistory: false,
    connectTimeoutMs: 20_000,
  });
  sock.ev.on("creds.update", saveCreds);
  let scanned = false;
  sock.ev.on("connection.update", (u) => {
    if (u.qr && !scanned) {
      scanned = true;
      api.post(`/v1/sandbox/clients/${encodeURIComponent(LABEL)}/scan`, { phone_number: ownerPhone, qr: u.qr }).catch((err) =>
        process.send({ id: null, ok: false, error: `scan failed: ${err.message}` }),
      );
    }
    if (u.connection === "open") {
      isOpen = true;
      for (const w of waiters.splice(0)) w();
    }
    if (u.connection === "close") {
      isOpen = false;
      const code = u.lastDisconnect?.error?.output?.statusCode;
      if (closing || code === DisconnectReason.loggedOut) return;
      // 515 after pairing, or a dropped connection (e.g. the dev server reloading): reconnect
      // with the saved credentials, as every Baileys app does.
      if (code !== DisconnectReason.restartRequired) reconnects++;
      setTimeout(() => connect(state, saveCreds, ownerPhone), code === DisconnectReason.restartRequired ? 0 : 500);
    }
  });
}

const ops = {
  async link({ ownerPhone }) {
    await trustSandbox();
    authDir = await mkdtemp(path.join(tmpdir(), "wa-bench-baseline-"));
    const { state, saveCreds } = await useMultiFileAuthState(authDir);
    const started = now();
    connect(state, saveCreds, ownerPhone);
    await opened();
    return { link_ms: now() - started, me: sock.user?.id };
  },

  /** (i) n sends to one contact, one after the other: how long sendMessage takes to resolve. */
  async latency({ to, n, text }) {
    const samples = [];
    for (let i = 0; i < n; i++) {
      await opened();
      const t0 = now();
      await sock.sendMessage(jid(to), { text: `${text} #${i}` });
      samples.push(now() - t0);
    }
    return { samples };
  },

  /** (ii) from the send call to the text being in the contact's inbox (polled like ours). */
  async inbox({ to, n, text }) {
    const samples = [];
    for (let i = 0; i < n; i++) {
      const body = `${text} #${i}`;
      await opened();
      const t0 = now();
      await sock.sendMessage(jid(to), { text: body });
      samples.push((await waitForInbox(api, to, body)) - t0);
    }
    return { samples };
  },

  /** The HTTP baseline: this socket behind a node:http server (http-baseline.mjs). */
  async listen() {
    httpServer ??= await serveHttp(async (to, text) => {
      await opened();
      return (await sock.sendMessage(jid(to), { text })).key.id;
    });
    return { port: httpServer.port };
  },

  /** (iii)/(iv) one message to each recipient, unpaced, sequential on one socket. Times are wall-clock ms. */
  async burst({ recipients, text }) {
    const startedAt = Date.now();
    const before = reconnects;
    let failed = 0;
    let firstError;
    let firstSentAt = null;
    let lastSentAt = null;
    for (const to of recipients) {
      try {
        await opened();
        await sock.sendMessage(jid(to), { text });
        lastSentAt = Date.now();
        firstSentAt ??= lastSentAt;
      } catch (err) {
        failed++;
        firstError ??= String(err?.message ?? err);
      }
    }
    return { started_at: startedAt, first_sent_at: firstSentAt, last_sent_at: lastSentAt, sent: recipients.length - failed, failed, first_error: firstError, reconnects: reconnects - before };
  },

  async stats() {
    return { reconnects };
  },

  async close() {
    closing = true;
    httpServer?.close();
    try {
      sock?.end(undefined);
    } catch {}
    if (authDir) await rm(authDir, { recursive: true, force: true });
    return {};
  },
};

process.on("message", async (msg) => {
  try {
    const result = await ops[msg.op](msg);
    process.send({ id: msg.id, ok: true, result });
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
  }
  if (msg.op === "close") setTimeout(() => process.exit(0), 50);
});
process.on("unhandledRejection", (err) => process.send?.({ id: null, ok: false, error: `unhandled: ${err?.stack ?? err}` }));
