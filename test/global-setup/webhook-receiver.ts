// A real HTTP receiver for webhook tests. Tests inside workerd cannot listen on a port, so
// vitest starts this in Node before the run and hands its URL to the tests
// (`inject("webhookReceiverUrl")`).
//
//   POST|PUT|... /r/<key>[/...]   a delivery: recorded, answered per the key's plan
//   POST /control/plan            {key, statuses?: number[], then?: number}: answer the next
//                                 requests with `statuses` in turn, then `then` (default 200)
//   GET  /control/received?key=k  [{path, method, headers, body, at}] for that key
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  interface ProvidedContext {
    webhookReceiverUrl: string;
  }
}

interface Received {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

interface Plan {
  statuses: number[];
  then: number;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export function startReceiver(): Promise<Server> {
  const received = new Map<string, Received[]>();
  const plans = new Map<string, Plan>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://receiver");
    const body = await readBody(req);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (url.pathname === "/control/plan" && req.method === "POST") {
      const { key, statuses = [], then = 200 } = JSON.parse(body) as { key: string; statuses?: number[]; then?: number };
      plans.set(key, { statuses: [...statuses], then });
      return json(200, { ok: true });
    }
    if (url.pathname === "/control/received" && req.method === "GET") {
      return json(200, received.get(url.searchParams.get("key") ?? "") ?? []);
    }
    const match = /^\/r\/([^/]+)/.exec(url.pathname);
    if (!match) return json(404, { error: "unknown path" });
    const key = match[1];
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(", ") : (value ?? "");
    const list = received.get(key) ?? [];
    list.push({ path: url.pathname + url.search, method: req.method ?? "", headers, body, at: Date.now() });
    received.set(key, list);
    const plan = plans.get(key);
    const status = plan ? (plan.statuses.shift() ?? plan.then) : 200;
    return json(status, { received: true });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

export default async function setup(project: TestProject) {
  const server = await startReceiver();
  const { port } = server.address() as AddressInfo;
  project.provide("webhookReceiverUrl", `http://127.0.0.1:${port}`);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
