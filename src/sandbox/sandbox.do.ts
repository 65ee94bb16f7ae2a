import { DurableObject } from "cloudflare:workers";

// One object per account: a WhatsApp server simulator and its simulated phones.
export class SandboxObject extends DurableObject<Env> {}
