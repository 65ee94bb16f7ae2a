export { SessionObject } from "./session/session.do";
export { SandboxObject } from "./sandbox/sandbox.do";

export default {
  async fetch(): Promise<Response> {
    return Response.json({ success: true });
  },
} satisfies ExportedHandler<Env>;
