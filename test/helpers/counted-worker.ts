import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { TripLog, countedD1, countedNamespace, countedQueue, type Trip } from "./trips";

// The Worker called with every binding counted (trips.ts): one request through its fetch, its
// waitUntil work included. Used by the accept-trips test and the bench's instrumented run.

/** `env` with D1, every object namespace and both queues counted into `log`. */
export function countedEnv(log: TripLog, env: Env): Env {
  return {
    ...env,
    DB: countedD1(log, env.DB),
    SESSION: countedNamespace(log, env.SESSION, "session"),
    SANDBOX_WORLD: countedNamespace(log, env.SANDBOX_WORLD, "sandbox"),
    RECOVERY: countedNamespace(log, env.RECOVERY, "recovery"),
    SEND_QUEUE: countedQueue(log, env.SEND_QUEUE, "send_queue"),
    WEBHOOK_QUEUE: countedQueue(log, env.WEBHOOK_QUEUE, "webhook_queue"),
  } as Env;
}

/** One request with `key`; the log is reset first and holds this request's trips after. */
export async function countedRequest(log: TripLog, env: Env, method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { Authorization: `Bearer ${key}`, ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  log.reset();
  const ctx = createExecutionContext();
  const request = new Request(`http://gateway.test${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  const response = await worker.fetch(request, env, ctx);
  const json = (await response.json()) as any;
  await waitOnExecutionContext(ctx);
  const ordered: Trip[] = [...log.trips].sort((a, b) => a.start - b.start);
  return { status: response.status, headers: response.headers, json, ordered };
}
