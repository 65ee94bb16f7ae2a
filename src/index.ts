import { api } from "./api/router";

export { SessionObject } from "./session/session.do";
export { SandboxObject } from "./sandbox/sandbox.do";

export default {
  fetch(request, env, ctx) {
    return api.handle(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
