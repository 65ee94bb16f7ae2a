// The HTTP baseline's server: the smallest thing WAHA's NOWEB engine or Evolution API put in front
// of Baileys — a node:http endpoint that awaits sock.sendMessage and answers with the id. Runs in a
// baseline child process (baseline-client.mjs, op "listen"); no auth, no storage, loopback only.
//
//   POST /send {to, text}          → 201 {id}
//   POST /send {recipients, text}  → 201 {ids, sent, failed, first_error, first_sent_at, last_sent_at}
//                                    (one after the other, like a campaign; *_at are wall-clock ms)
import http from "node:http";

const MAX_BODY = 1024 * 1024;

function readJson(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) reject(Object.assign(new Error("body too large"), { status: 413 }));
      else chunks.push(c);
    });
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}"));
      } catch {
        reject(Object.assign(new Error("invalid JSON"), { status: 400 }));
      }
    });
    req.on("error", reject);
  });
}

const isPhone = (v) => typeof v === "string" && /^\d{6,15}$/.test(v);

/** `send(to, text)` resolves with the message id once Baileys has written the frame. */
export function serveHttp(send) {
  async function handle(req, res) {
    const reply = (status, body) => {
      const data = JSON.stringify(body);
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) });
      res.end(data);
    };
    if (req.method !== "POST" || req.url !== "/send") return reply(404, { error: "not found" });
    let body;
    try {
      body = await readJson(req);
    } catch (err) {
      return reply(err.status ?? 400, { error: err.message });
    }
    const { to, recipients, text } = body ?? {};
    if (typeof text !== "string" || !text) return reply(400, { error: "text is required" });
    if (isPhone(to)) {
      try {
        return reply(201, { id: await send(to, text) });
      } catch (err) {
        return reply(502, { error: String(err?.message ?? err) });
      }
    }
    if (!Array.isArray(recipients) || !recipients.length || !recipients.every(isPhone)) {
      return reply(400, { error: "to (a phone number) or recipients (phone numbers) is required" });
    }
    const ids = [];
    let failed = 0;
    let firstError = null;
    let firstSentAt = null;
    let lastSentAt = null;
    for (const r of recipients) {
      try {
        ids.push(await send(r, text));
        lastSentAt = Date.now();
        firstSentAt ??= lastSentAt;
      } catch (err) {
        failed++;
        firstError ??= String(err?.message ?? err);
      }
    }
    return reply(201, { ids, sent: ids.length, failed, first_error: firstError, first_sent_at: firstSentAt, last_sent_at: lastSentAt });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err?.message ?? err));
    });
  });
  // A bulk send of 1,000 takes tens of seconds: no request timeout; keep-alive like the gateway's.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve({ port: server.address().port, close: () => server.close() }));
  });
}
