import { api } from "./api/router";
import { handleQueue } from "./queues";

export { SessionObject } from "./session/session.do";
export { SandboxObject } from "./sandbox/sandbox.do";

export default {
  fetch(request, env, ctx) {
    return api.handle(request, env, ctx);
  },
  queue(batch, env, ctx) {
    return handleQueue(batch, env, ctx);
  },
} satisfies ExportedHandler<Env>;
