import { log } from "../platform/log";
import { runChatOp } from "./chats";
import { runContactOp } from "./contacts";
import { runLidOp } from "./lids";
import { PeopleRefusal, peopleFailureOf } from "./people.errors";
import type { PeopleAnswer, PeopleContext, PeopleOp } from "./people.types";
import { runPresenceOp } from "./presence";
import { runProfileOp } from "./profile";

// A session's people-and-chats operations (contacts, chats, presence, profile and privacy, LIDs),
// each area in its own module. WhatsApp's refusals come back as values, not errors.

export async function runPeopleOp(ctx: PeopleContext, op: PeopleOp): Promise<PeopleAnswer> {
  try {
    return { ok: true, value: await dispatch(ctx, op) };
  } catch (err) {
    if (!(err instanceof PeopleRefusal)) log.warn({ area: op.area, op: op.op, err: err instanceof Error ? err.message : String(err) }, "people operation failed at WhatsApp");
    return { ok: false, failure: peopleFailureOf(err) };
  }
}

function dispatch(ctx: PeopleContext, op: PeopleOp): Promise<unknown> {
  switch (op.area) {
    case "contacts":
      return runContactOp(ctx, op);
    case "chats":
      return runChatOp(ctx, op);
    case "presence":
      return runPresenceOp(ctx, op);
    case "profile":
      return runProfileOp(ctx, op);
    case "lids":
      return runLidOp(ctx, op);
  }
}
