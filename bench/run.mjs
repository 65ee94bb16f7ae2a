#!/usr/bin/env node
// `npm run bench`: the gateway (under `npm run dev`) against a baseline — a plain Node.js Baileys
// process linked to the same sandbox — on the same workloads. Prints a table and writes
// bench/results/latest.json. See README "Benchmarks".
//
// Environment: BASE (default http://localhost:8787), ADMIN_TOKEN / DEV_API_KEY (default: from
// .wrangler/dev-credentials.json), and the sizes BENCH_LATENCY_N (200), BENCH_INBOX_N (30),
// BENCH_BURST_N (200), BENCH_CAMPAIGN_N (1000).
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { client, log, mapLimit, now, ROOT, summarize, target, waitFor } from "./lib.mjs";
import { gateway } from "./ours.mjs";

const size = (name, fallback) => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
};
const N = {
  latency: size("BENCH_LATENCY_N", 200),
  inbox: size("BENCH_INBOX_N", 30),
  burst: size("BENCH_BURST_N", 200),
  campaign: size("BENCH_CAMPAIGN_N", 1000),
};

const { base, devKey, adminToken } = target();

/** Its own account each run: a large balance, and its own daily usage and sandbox. */
async function benchAccount() {
  if (adminToken) {
    const admin = client(base, adminToken);
    try {
      const res = await admin.post("/v1/admin/accounts", { name: `bench ${new Date().toISOString()}`, plan: "pro", balance: 1_000_000_000 });
      return { key: res.api_key.key, id: res.account.id, own: true };
    } catch (err) {
      log(`could not create a bench account (${err.message}); falling back to the development key`);
    }
  }
  if (!devKey) throw new Error("no admin token or API key: start the gateway with `npm run dev` first");
  const { account } = await client(base, devKey).get("/v1/account");
  return { key: devKey, id: account.id, own: false };
}

/** The baseline child process and a promise-based call over IPC. */
function startBaseline(key) {
  const label = `baseline-${randomUUID()}`;
  const child = fork(path.join(ROOT, "bench/baseline-client.mjs"), [], {
    env: { ...process.env, BASE: base, KEY: key, LABEL: label },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map();
  let seq = 0;
  child.on("message", (msg) => {
    if (msg.id === null) return log(`baseline: ${msg.error}`);
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.ok) p?.resolve(msg.result);
    else p?.reject(new Error(`baseline: ${msg.error}`));
  });
  child.on("exit", (code) => {
    for (const p of pending.values()) p.reject(new Error(`baseline process exited (${code})`));
    pending.clear();
  });
  const call = (op, args = {}) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve, reject });
      child.send({ id, op, ...args });
    });
  return { label, call, child };
}

const ms = (v) => (v == null ? "–" : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(v < 10 ? 2 : 0)} ms`);
const ratio = (a, b) => (a == null || b == null || b === 0 ? "–" : `${(a / b).toFixed(2)}×`);

function table(rows) {
  const head = ["figure", "ours (gateway)", "baseline (Node Baileys)", "ours/baseline"];
  const all = [head, ...rows.map((r) => [r.name, r.ours, r.baseline, r.ratio])];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map((r) => line([r.name, r.ours, r.baseline, r.ratio]))].join("\n");
}

async function main() {
  const started = Date.now();
  log(`gateway at ${base}; sizes ${JSON.stringify(N)}`);
  const account = await benchAccount();
  const api = client(base, account.key);
  log(`account ${account.id}${account.own ? " (created for this run)" : " (development account)"}`);

  // 1. Phones: two owners (gateway session, baseline client) and contacts with manual receipts,
  //    shared by both senders (each sender has its own Signal sessions with them).
  const t0 = now();
  const manual = { receipt_policy: { delivered: "manual", read: "manual" } };
  const phone = async (body = {}) => (await api.post("/v1/sandbox/phones", body)).phone.phone_number;
  const [ownerOurs, ownerBaseline] = [await phone({ name: "Gateway owner" }), await phone({ name: "Baseline owner" })];
  const contacts = await mapLimit(Array.from({ length: 2 + N.burst + N.campaign }), 4, () => phone(manual));
  const [latencyTo, inboxTo] = contacts;
  const burst = contacts.slice(2, 2 + N.burst);
  const campaign = contacts.slice(2 + N.burst);
  log(`${contacts.length + 2} sandbox phones in ${ms(now() - t0)}`);

  // 2. The gateway session, linked by the owner phone.
  const t1 = now();
  const { session } = await api.post("/v1/whatsapp/sessions", { sandbox: true });
  await api.post(`/v1/sandbox/sessions/${session.id}/scan`, { phone_number: ownerOurs });
  await waitFor(async () => (await api.get(`/v1/whatsapp/sessions/${session.id}`)).session.status === "connected", {
    timeout: 60_000,
    interval: 100,
    what: "the gateway session to connect",
  });
  const linkOurs = now() - t1;
  log(`gateway session ${session.id} connected in ${ms(linkOurs)}`);

  // 3. The baseline process, linked by its owner phone through the WebSocket proxy.
  const baseline = startBaseline(account.key);
  const linked = await baseline.call("link", { ownerPhone: ownerBaseline });
  log(`baseline ${baseline.label} connected in ${ms(linked.link_ms)}`);

  const ours = gateway(api, session.id);
  const results = {};
  try {
    log(`(i) accept latency: ${N.latency} sequential sends to one contact`);
    results.latency = {
      ours: await ours.latency({ to: latencyTo, n: N.latency, text: "bench latency ours" }),
      baseline: await baseline.call("latency", { to: latencyTo, n: N.latency, text: "bench latency baseline" }),
    };
    log(`(ii) time to inbox: ${N.inbox} sequential sends`);
    results.inbox = {
      ours: await ours.inbox({ to: inboxTo, n: N.inbox, text: "bench inbox ours" }),
      baseline: await baseline.call("inbox", { to: inboxTo, n: N.inbox, text: "bench inbox baseline" }),
    };
    log(`(iii) unpaced throughput: ${N.burst} recipients`);
    results.burst = {
      ours: await ours.campaign({ recipients: burst, text: "bench burst ours", timeout: 300_000 }),
      baseline: await baseline.call("burst", { recipients: burst, text: "bench burst baseline" }),
    };
    log(`(iv) campaign: ${N.campaign} recipients`);
    results.campaign = {
      ours: await ours.campaign({ recipients: campaign, text: "bench campaign ours", timeout: 600_000 }),
      baseline: await baseline.call("burst", { recipients: campaign, text: "bench campaign baseline" }),
    };
  } finally {
    await baseline.call("close").catch(() => {});
    baseline.child.kill();
    // The session would otherwise stay connected (persistent) in the dev server.
    await api.post(`/v1/whatsapp/sessions/${session.id}/logout`).catch(() => {});
  }

  // 4. Figures.
  const L = { ours: summarize(results.latency.ours.samples), baseline: summarize(results.latency.baseline.samples) };
  const I = { ours: summarize(results.inbox.ours.samples), baseline: summarize(results.inbox.baseline.samples) };
  const rate = (r) => (r.sent / r.ms) * 1000;
  const steady = (r, n) => (r.first_sent_ms == null ? "–" : `${(((n - 1) / (r.last_sent_ms - r.first_sent_ms)) * 1000).toFixed(1)} msg/s`);
  const B = { ours: rate(results.burst.ours), baseline: rate(results.burst.baseline) };
  const C = { ours: results.campaign.ours.ms, baseline: results.campaign.baseline.ms };
  const rows = [
    { name: `(i) accept latency p50 (n=${N.latency})`, ours: ms(L.ours.p50), baseline: ms(L.baseline.p50), ratio: ratio(L.ours.p50, L.baseline.p50) },
    { name: `(i) accept latency p99`, ours: ms(L.ours.p99), baseline: ms(L.baseline.p99), ratio: ratio(L.ours.p99, L.baseline.p99) },
    { name: `(ii) call → contact inbox p50 (n=${N.inbox})`, ours: ms(I.ours.p50), baseline: ms(I.baseline.p50), ratio: ratio(I.ours.p50, I.baseline.p50) },
    { name: `(ii) call → contact inbox p99`, ours: ms(I.ours.p99), baseline: ms(I.baseline.p99), ratio: ratio(I.ours.p99, I.baseline.p99) },
    {
      name: `(iii) unpaced throughput (${N.burst} recipients)`,
      ours: `${B.ours.toFixed(1)} msg/s`,
      baseline: `${B.baseline.toFixed(1)} msg/s`,
      ratio: ratio(B.ours, B.baseline),
    },
    { name: `(iv) ${N.campaign}-recipient campaign, accept → all sent`, ours: ms(C.ours), baseline: ms(C.baseline), ratio: ratio(C.ours, C.baseline) },
  ];
  const failures = ["burst", "campaign"]
    .map((k) => {
      const b = results[k].baseline;
      const detail = [b.first_error && `first error: ${b.first_error}`, b.reconnects && `${b.reconnects} reconnect(s)`].filter(Boolean).join(", ");
      return `${k}: ours ${results[k].ours.failed} failed, baseline ${b.failed} failed${detail ? ` (${detail})` : ""}`;
    })
    .join("; ");
  const anyFailed = ["burst", "campaign"].some((k) => results[k].ours.failed || results[k].baseline.failed);
  const machine = { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? "unknown", memory_gb: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, node: process.version };
  const date = new Date().toISOString();

  console.log(`
WhatsApp gateway benchmark — ${date}
machine: ${machine.cpus} cores (${machine.cpu_model}), ${machine.memory_gb} GB, ${machine.platform}, Node ${machine.node}
gateway: ${base} (npm run dev, local workerd); sandbox WhatsApp for both sides

${table(rows)}

(i)   ours: POST /v1/whatsapp/messages round trip (rows stored, job queued); baseline: sock.sendMessage resolves
(ii)  from the call until the text is in the contact's sandbox inbox (polled every 20 ms, both sides)
(iii) ours: campaign with delay_between 0, from the 201 until every row is final; baseline: sequential sock.sendMessage
(iv)  same as (iii) with ${N.campaign} recipients. Ratios: > 1 means ours takes longer ((i), (ii), (iv)) or sends faster ((iii)).
extra (ours): accept→all ${N.latency} of (i) sent ${ms(results.latency.ours.all_sent_ms)}; campaign POST ${ms(results.burst.ours.accept_ms)} for ${N.burst} recipients, ${ms(results.campaign.ours.accept_ms)} for ${N.campaign};
  by the rows' sent_at: 201→first sent ${ms(results.burst.ours.first_sent_ms)} (iii), ${ms(results.campaign.ours.first_sent_ms)} (iv); rate from first to last sent ${steady(results.burst.ours, N.burst)} (iii), ${steady(results.campaign.ours, N.campaign)} (iv)
link (scan → connected): ours ${ms(linkOurs)}, baseline ${ms(linked.link_ms)}
failures: ${failures}${anyFailed ? "\nWARNING: some sends failed; the figures above do not compare like with like. Was the dev server reloaded (file changes) during the run?" : ""}
total bench time ${((Date.now() - started) / 1000).toFixed(0)} s
`);

  const out = {
    date,
    machine,
    base,
    sizes: N,
    figures: {
      accept_latency_ms: L,
      inbox_latency_ms: I,
      throughput_msgs_per_s: B,
      campaign_ms: C,
      ratios: {
        accept_p50: L.ours.p50 / L.baseline.p50,
        accept_p99: L.ours.p99 / L.baseline.p99,
        inbox_p50: I.ours.p50 / I.baseline.p50,
        inbox_p99: I.ours.p99 / I.baseline.p99,
        throughput: B.ours / B.baseline,
        campaign: C.ours / C.baseline,
      },
    },
    raw: results,
    link_ms: { ours: linkOurs, baseline: linked.link_ms },
  };
  const dir = path.join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "latest.json"), JSON.stringify(out, null, 2) + "\n");
  log(`results written to bench/results/latest.json`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err?.stack ?? err);
    process.exit(1);
  },
);
