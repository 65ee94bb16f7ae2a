// The gateway's own lists, imported from src/domain so the forms never drift from the API.
// Lists that live next to zod schemas are repeated here (zod would weigh on the bundle) and
// checked against the API's types at compile time (`npx tsc -p dashboard`).
import type { MessageStatus } from "../../../src/db/messages.rows";
import type { PlanName } from "../../../src/domain/plans";

export { MEDIA_TYPES } from "../../../src/domain/media-policy";
export { MESSAGE_TYPES } from "../../../src/domain/outbox-item";
export { FAULT_KINDS } from "../../../src/domain/sandbox-faults";
export { CHAT_TYPES, WEBHOOK_EVENTS } from "../../../src/domain/webhook-events";

export const MESSAGE_STATUSES = ["queued", "scheduled", "sent", "delivered", "read", "failed"] as const satisfies readonly MessageStatus[];
export const PLAN_NAMES = ["free", "pro"] as const satisfies readonly PlanName[];
export const DIRECTIONS = ["incoming", "outgoing"] as const;

// Fails to compile when the API gains a status or a plan this file does not list.
type Exhaustive<All, Listed extends All> = [Exclude<All, Listed>] extends [never] ? true : never;
export const LISTS_COMPLETE: [Exhaustive<MessageStatus, (typeof MESSAGE_STATUSES)[number]>, Exhaustive<PlanName, (typeof PLAN_NAMES)[number]>] = [true, true];
