// The bench's figures: one table with the gateway, the HTTP baseline and the in-process baseline
// side by side, the ratios the targets of issue 10 use, and whether each target is met.
import { summarize } from "./lib.mjs";

export const SENDERS = ["ours", "http", "node"];

const ms = (v) => (v == null ? "–" : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(v < 10 ? 2 : 0)} ms`);
const rate = (v) => (v == null ? "–" : `${v.toFixed(1)} msg/s`);
const perSecond = (count, span) => (count > 0 && span > 0 ? (count / span) * 1000 : null);
const div = (a, b) => (a == null || b == null || b === 0 ? null : a / b);
const x = (v) => (v == null ? "–" : `${v.toFixed(2)}×`);

/** A burst's figures from its wall-clock times (see ours.mjs, http-sender.mjs, baseline-client.mjs). */
export function burstFigures(r) {
  const since = (at) => (at == null ? null : at - r.started_at);
  return {
    first_sent_ms: since(r.first_sent_at),
    all_sent_ms: since(r.last_sent_at),
    all_inbox_ms: since(r.inbox.last_at),
    rate_sent: perSecond(r.sent, since(r.last_sent_at)),
    rate_inbox: perSecond(r.inbox.arrived, since(r.inbox.last_at)),
    steady_sent: perSecond(r.sent - 1, r.last_sent_at - r.first_sent_at),
    steady_inbox: perSecond(r.inbox.arrived - 1, r.inbox.last_at - r.inbox.first_at),
  };
}

/** Every figure, per sender; `targets` name the rows the targets judge. */
export function figures(results, N) {
  const L = Object.fromEntries(SENDERS.map((s) => [s, summarize(results.latency[s].samples)]));
  const I = Object.fromEntries(SENDERS.map((s) => [s, summarize(results.inbox[s].samples)]));
  const B = {};
  for (const k of ["burst", "known", "campaign"]) B[k] = Object.fromEntries(SENDERS.map((s) => [s, burstFigures(results[k][s])]));

  const rows = [];
  const row = (name, fmt, pick, target) => rows.push({ name, fmt, values: Object.fromEntries(SENDERS.map((s) => [s, pick(s)])), target });
  row(`(i) accept p50 (n=${N.latency})`, ms, (s) => L[s].p50, { vs: "http", op: "≤", limit: 1.5 });
  row(`(i) accept p99`, ms, (s) => L[s].p99);
  row(`(ii) call → contact inbox p50 (n=${N.inbox})`, ms, (s) => I[s].p50, { vs: "http", op: "≤", limit: 1.2 });
  row(`(ii) call → contact inbox p99`, ms, (s) => I[s].p99);
  const bursts = [
    ["burst", `(iii) ${N.burst} new numbers`, { vs: "node", op: "≥", limit: 1.0, on: "rate_inbox" }],
    ["known", `(iii) ${N.burst} known numbers`, { vs: "node", op: "≥", limit: 1.0, on: "rate_inbox" }],
    ["campaign", `(iv) ${N.campaign}-recipient campaign`, { vs: "node", op: "≤", limit: 1.0, on: "all_inbox_ms" }],
  ];
  for (const [k, label, target] of bursts) {
    const f = B[k];
    const t = (on) => (target.on === on ? target : undefined);
    row(`${label}: call → first sent`, ms, (s) => f[s].first_sent_ms);
    row(`${label}: call → all sent`, ms, (s) => f[s].all_sent_ms, t("all_sent_ms"));
    row(`${label}: call → all in inbox`, ms, (s) => f[s].all_inbox_ms, t("all_inbox_ms"));
    row(`${label}: rate to inbox (total)`, rate, (s) => f[s].rate_inbox, t("rate_inbox"));
    row(`${label}: steady rate, first → last sent`, rate, (s) => f[s].steady_sent);
    row(`${label}: steady rate, first → last in inbox`, rate, (s) => f[s].steady_inbox);
  }
  for (const r of rows) {
    r.ratio = { http: div(r.values.ours, r.values.http), node: div(r.values.ours, r.values.node) };
    if (r.target) {
      const v = r.ratio[r.target.vs];
      r.met = v != null && (r.target.op === "≤" ? v <= r.target.limit : v >= r.target.limit);
    }
  }
  return { latency: L, inbox: I, bursts: B, rows };
}

export function table(rows) {
  const head = ["figure", "gateway", "HTTP baseline", "in-process baseline", "gw/HTTP", "gw/in-process", "target (issue 10)"];
  const cells = rows.map((r) => [
    r.name,
    r.fmt(r.values.ours),
    r.fmt(r.values.http),
    r.fmt(r.values.node),
    x(r.ratio.http),
    x(r.ratio.node),
    r.target ? `${r.target.op} ${r.target.limit.toFixed(1)}× ${r.target.vs === "http" ? "HTTP" : "in-process"}: ${r.met ? "met" : "NOT met"}` : "",
  ]);
  const all = [head, ...cells];
  const widths = head.map((_, i) => Math.max(...all.map((c) => c[i].length)));
  const line = (c) => `| ${c.map((v, i) => v.padEnd(widths[i])).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.map(line)].join("\n");
}
