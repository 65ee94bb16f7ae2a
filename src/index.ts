import { api } from "./api/router";
import { isWorkerPath } from "./domain/worker-paths";
import { handleQueue } from "./queues";
import { sweep } from "./recovery/sweep";

export { SessionObject } from "./session/session.do";
export { SandboxObject } from "./sandbox/sandbox.do";
export { RecoveryObject } from "./recovery/recovery.do";

export default {
  // Cloudflare's asset router answers files (the dashboard) before the Worker runs. A GET that
  // still reaches the Worker outside the API's paths is tried against the assets too, so the
  // Worker alone (vitest calls it directly) answers like the deployment; else the API's 404.
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if ((request.method === "GET" || request.method === "HEAD") && !isWorkerPath(pathname)) {
      const asset = await env.ASSETS.fetch(request);
      if (asset.status !== 404) return asset;
      await asset.body?.cancel();
    }
    return api.handle(request, env, ctx);
  },
  queue(batch, env, ctx) {
    return handleQueue(batch, env, ctx);
  },
  async scheduled(_controller, env, _ctx) {
    await sweep(env);
  },
} satisfies ExportedHandler<Env>;
