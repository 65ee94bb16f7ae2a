import { api } from "./api/router";
import { handleQueue } from "./queues";
import { sweep } from "./recovery/sweep";

export { SessionObject } from "./session/session.do";
export { SandboxObject } from "./sandbox/sandbox.do";
export { RecoveryObject } from "./recovery/recovery.do";

export default {
  fetch(request, env, ctx) {
    return api.handle(request, env, ctx);
  },
  queue(batch, env, ctx) {
    return handleQueue(batch, env, ctx);
  },
  async scheduled(_controller, env, _ctx) {
    await sweep(env);
  },
} satisfies ExportedHandler<Env>;
