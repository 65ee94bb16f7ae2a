import { DurableObject } from "cloudflare:workers";

export class SessionObject extends DurableObject<Env> {}
export class SandboxObject extends DurableObject<Env> {}

export default {
  async fetch(): Promise<Response> {
    return Response.json({ success: true });
  },
} satisfies ExportedHandler<Env>;
