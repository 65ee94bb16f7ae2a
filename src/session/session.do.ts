import { DurableObject } from "cloudflare:workers";

// One object per WhatsApp session: owns the Baileys socket, auth state and outbox.
export class SessionObject extends DurableObject<Env> {}
