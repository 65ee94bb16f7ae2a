#!/usr/bin/env node
// `npm run bench`: the gateway (under `npm run dev`) against two baselines linked to the same
// sandbox — plain Node.js Baileys called in-process, and the same behind a minimal node:http
// server (the HTTP baseline) — on the same workloads. Prints one table and writes
// bench/results/latest.json. See README "Benchmarks".
//
// Environment: BASE (default http://localhost:8787), ADMIN_TOKEN / DEV_API_KEY (default: from
// .wrangler/dev-credentials.json), and the sizes BENCH_LATENCY_N (200), BENCH_INBOX_N (30),
// BENCH_BURST_N (200), BENCH_CAMPAIGN_N (1000). Then the round-trip counts (bench/trips.mjs,
// after the timings so it never loads the machine while they run); BENCH_TRIPS=0 skips them.
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { httpBaseline } from "./http-sender.mjs";
import { client, inboxArrivals, log, mapLimit, now, ROOT, summarize, target, waitFor } from "./lib.mjs";
import { gateway } from "./ours.mjs";
import { figures, SENDERS, table } from "./report.mjs";
import { trips } from "./trips.mjs";

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
function startBaseline(key, kind) {
  const label = `baseline-${kind}-${randomUUID()}`;
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

async function main() {
  const started = Date.now();
  const loadBefore = os.loadavg()[0];
  log(`gateway at ${base}; sizes ${JSON.stringify(N)}`);
  const account = await benchAccount();
  const api = client(base, account.key);
  log(`account ${account.id}${account.own ? " (created for this run)" : " (development account)"}`);

  // 1. Phones: three owners (gateway session, HTTP baseline, in-process baseline) and contacts with
  //    manual receipts, shared by all senders (each sender has its own Signal sessions with them).
  const t0 = now();
  const manual = { receipt_policy: { delivered: "manual", read: "manual" } };
  const phone = async (body = {}) => (await api.post("/v1/sandbox/phones", body)).phone.phone_number;
  const owners = { ours: await phone({ name: "Gateway owner" }), http: await phone({ name: "HTTP baseline owner" }), node: await phone({ name: "Baseline owner" }) };
  const contacts = await mapLimit(Array.from({ length: 2 + N.burst + N.campaign }), 4, () => phone(manual));
  const [latencyTo, inboxTo] = contacts;
  const burst = contacts.slice(2, 2 + N.burst);
  const campaign = contacts.slice(2 + N.burst);
  log(`${contacts.length + 3} sandbox phones in ${ms(now() - t0)}`);

  // 2. The gateway session, linked by its owner phone.
  const t1 = now();
  const { session } = await api.post("/v1/whatsapp/sessions", { sandbox: true });
  await api.post(`/v1/sandbox/sessions/${session.id}/scan`, { phone_number: owners.ours });
  await waitFor(async () => (await api.get(`/v1/whatsapp/sessions/${session.id}`)).session.status === "connected", {
    timeout: 60_000,
    interval: 100,
    what: "the gateway session to connect",
  });
  const link = { ours: now() - t1 };
  log(`gateway session ${session.id} connected in ${ms(link.ours)}`);

  // 3. The two baseline processes, each linked by its owner phone through the WebSocket proxy;
  //    the HTTP one serves POST /send on a loopback port.
  const baselines = { http: startBaseline(account.key, "http"), node: startBaseline(account.key, "node") };
  for (const k of ["http", "node"]) {
    link[k] = (await baselines[k].call("link", { ownerPhone: owners[k] })).link_ms;
    log(`${k} baseline ${baselines[k].label} connected in ${ms(link[k])}`);
  }
  const { port } = await baselines.http.call("listen");
  const node = baselines.node;

  const senders = {
    ours: gateway(api, session.id),
    http: httpBaseline(port, api),
    node: { latency: (a) => node.call("latency", a), inbox: (a) => node.call("inbox", a), burst: ({ recipients, text }) => node.call("burst", { recipients, text }) },
  };
  const results = { latency: {}, inbox: {}, burst: {}, known: {}, campaign: {} };
  // Each workload runs for the senders one after the other, never side by side.
  const each = async (what, fn) => {
    for (const s of SENDERS) results[what][s] = await fn(senders[s], s);
  };
  // A burst, then when it reached the contacts' inboxes (before the next sender starts).
  const burstTo = (recipients, label, timeout) => async (sender, s) => {
    const text = `bench ${label} ${s}`;
    const r = await sender.burst({ recipients, text, timeout });
    return { ...r, inbox: await inboxArrivals(api, recipients, text, { timeout: 120_000 }) };
  };
  try {
    // What a request costs before any work: a path both servers answer 404 without touching
    // anything. Under `wrangler dev` every request also crosses wrangler's local proxy.
    log("floor: 200 sequential requests each server answers 404");
    results.floor = { ours: await floorOf(target().base, api.token), http: await floorOf(`http://127.0.0.1:${port}`, null) };
    log(`(i) accept latency: ${N.latency} sequential sends to one contact`);
    await each("latency", (x, s) => x.latency({ to: latencyTo, n: N.latency, text: `bench latency ${s}` }));
    log(`(ii) time to inbox: ${N.inbox} sequential sends`);
    await each("inbox", (x, s) => x.inbox({ to: inboxTo, n: N.inbox, text: `bench inbox ${s}` }));
    log(`(iii) unpaced burst: ${N.burst} new numbers`);
    await each("burst", burstTo(burst, "burst", 300_000));
    log(`(iii) unpaced burst: the same ${N.burst} numbers again (Signal sessions exist)`);
    await each("known", burstTo(burst, "known", 300_000));
    log(`(iv) campaign: ${N.campaign} recipients`);
    await each("campaign", burstTo(campaign, "campaign", 600_000));
    for (const k of ["http", "node"]) results.reconnects = { ...results.reconnects, [k]: (await baselines[k].call("stats")).reconnects };
  } finally {
    for (const b of Object.values(baselines)) {
      await b.call("close").catch(() => {});
      b.child.kill();
    }
    // The session would otherwise stay connected (persistent) in the dev server.
    await api.post(`/v1/whatsapp/sessions/${session.id}/logout`).catch(() => {});
  }

  // 4. Figures.
  const F = figures(results, N);
  const problems = [];
  for (const k of ["burst", "known", "campaign"]) {
    for (const s of SENDERS) {
      const r = results[k][s];
      if (r.failed) problems.push(`${k}/${s}: ${r.failed} failed${r.first_error ? ` (first error: ${r.first_error})` : ""}`);
      if (r.inbox.missing) problems.push(`${k}/${s}: ${r.inbox.missing} never reached the inbox`);
    }
  }
  for (const [k, n] of Object.entries(results.reconnects ?? {})) if (n) problems.push(`${k} baseline reconnected ${n} time(s)`);
  const machine = { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? "unknown", memory_gb: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, node: process.version, load_before: loadBefore, load_after: os.loadavg()[0] };
  const date = new Date().toISOString();
  const met = F.rows.filter((r) => r.target);

  console.log(`
WhatsApp gateway benchmark — ${date}
machine: ${machine.cpus} cores (${machine.cpu_model}), ${machine.memory_gb} GB, ${machine.platform}, Node ${machine.node}
load average (1 min): ${machine.load_before.toFixed(2)} at the start, ${machine.load_after.toFixed(2)} at the end${Math.max(machine.load_before, machine.load_after) > machine.cpus ? " (above the core count: other work competed for the CPU)" : ""}
gateway: ${base} (npm run dev, local workerd: the gateway and the sandbox share one process); sandbox WhatsApp for all senders

${F.rows.length ? table(F.rows) : ""}

gateway: POST /v1/whatsapp/messages (delay_between 0); HTTP baseline: POST /send to node:http awaiting sock.sendMessage
  (bulk: {recipients} answered when all resolved); in-process: sock.sendMessage called directly. Same Baileys, same sandbox.
(i)   the call's round trip; (ii) from the call until the text is in the contact's sandbox inbox (polled every 20 ms)
(iii)/(iv) one message per recipient, unpaced, from the call: "sent" is the rows' sent_at (gateway) or sendMessage resolving
  (baselines); "in inbox" is when the sandbox stored it for the contact. Known numbers: a second round to the same ${N.burst}.
targets met: ${met.filter((r) => r.met).length} of ${met.length}
extra (ours): campaign POST ${ms(results.burst.ours.accept_ms)} for ${N.burst} recipients, ${ms(results.campaign.ours.accept_ms)} for ${N.campaign}
request floor p50 (a 404, no work): gateway ${ms(results.floor.ours.p50)} (wrangler dev), HTTP baseline ${ms(results.floor.http.p50)} (node:http)
link (scan → connected): gateway ${ms(link.ours)}, HTTP baseline ${ms(link.http)}, in-process baseline ${ms(link.node)}
${problems.length ? `WARNING: ${problems.join("; ")}\n  the figures above do not compare like with like. Was the dev server reloaded (file changes) during the run?` : "failures: none"}
total bench time ${((Date.now() - started) / 1000).toFixed(0)} s
`);

  const out = {
    date,
    machine,
    base,
    sizes: N,
    figures: {
      accept_latency_ms: F.latency,
      inbox_latency_ms: F.inbox,
      bursts: F.bursts,
      rows: F.rows.map(({ fmt, ...r }) => r),
    },
    raw: results,
    link_ms: link,
  };
  const dir = path.join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "latest.json"), JSON.stringify(out, null, 2) + "\n");
  log(`results written to bench/results/latest.json`);

  if (process.env.BENCH_TRIPS !== "0") {
    const counted = await trips();
    console.log(counted ?? "round trips: no figures (the instrumented run failed; its output is above)");
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err?.stack ?? err);
    process.exit(1);
  },
);

/** p50/p99 of 200 sequential GETs of a path the server answers 404, on one keep-alive client as the sends use. */
async function floorOf(base, token) {
  const samples = [];
  for (let i = 0; i < 200; i++) {
    const t = now();
    const res = await fetch(`${base}/v1/bench-floor-not-a-route`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    await res.text();
    samples.push(now() - t);
  }
  return summarize(samples);
}
