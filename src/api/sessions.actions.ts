// Creating a session (the row within the plan's limit, its object started, a short wait for the
// first QR code) and deleting one (object, row, and the messages it will never send).
import type { AccountRow } from "../db/accounts.repo";
import { database } from "../db/client";
import { failPendingOfSession } from "../db/messages.status";
import { emitMessageEvent } from "../events/message-events";
import { deleteSession, findSession, insertSessionWithinLimit, newSessionRow, type SessionRow } from "../db/sessions.repo";
import { planLimits } from "../domain/plans";
import { qrPngDataUrl } from "../domain/qr";
import type { ConnectionMode } from "../domain/session-status";
import { callObject } from "./object-call";
import { sessionStub } from "../platform/bindings";
import { log } from "../platform/log";
import { ApiError, tooManyRequests, unprocessable } from "./errors";
import { presentSession } from "./presenters";
import { sessionConfig } from "./session-lookup";
import type { CreateSessionBody } from "./sessions.schemas";
import type { z } from "zod";

/** How long session creation (and a QR request) waits for the QR before answering without one. */
export const FIRST_QR_WAIT_MS = 15_000;

export async function createSession(env: Env, account: AccountRow, body: z.output<typeof CreateSessionBody>) {
  if (body.sandbox && env.SANDBOX === "off") {
    throw unprocessable([{ field: "sandbox", in: "body", message: "The sandbox is disabled in this deployment." }]);
  }
  const mode = (body.connection_mode ?? (env.DEFAULT_CONNECTION_MODE === "on_demand" ? "on_demand" : "persistent")) as ConnectionMode;
  const row = newSessionRow({
    accountId: account.id,
    name: body.name,
    sandbox: body.sandbox,
    connectionMode: mode,
    settings: {
      ...(body.idle_timeout_seconds ? { idle_timeout_ms: body.idle_timeout_seconds * 1000 } : {}),
      ...(body.wake_interval_seconds ? { wake_interval_ms: body.wake_interval_seconds * 1000 } : {}),
      ...(body.qr_timeout_seconds ? { qr_timeout_ms: body.qr_timeout_seconds * 1000 } : {}),
      ...(body.browser ? { browser: body.browser } : {}),
    },
  });
  const { max_sessions } = planLimits(account.plan, env.PLANS);
  if (!(await insertSessionWithinLimit(database(env), row, max_sessions))) {
    throw tooManyRequests("session_limit_reached", `Your ${account.plan} plan allows ${max_sessions} sessions. Delete one or upgrade.`);
  }
  const stub = sessionStub(env, row.id);
  try {
    await stub.start(sessionConfig(row));
  } catch (err) {
    await abandonStart(env, row);
    throw new ApiError(503, "session_start_failed", "The session could not be started; nothing was created. Retry the request.").withInternal({
      session: row.id,
      err,
    });
  }
  // The session exists from here on: a failed wait only means no QR in this answer (GET /qr has it).
  const qr = await stub.waitForQr(FIRST_QR_WAIT_MS).catch((err: unknown) => {
    log.warn({ session: row.id, err: err instanceof Error ? err.message : "unknown" }, "waiting for the first QR failed; answering without one");
    return null;
  });
  const fresh = (await findSession(database(env), account.id, row.id)) ?? row;
  return { session: presentSession(fresh), qr_code: qr ? await qrPngDataUrl(qr) : null };
}

/**
 * A session whose object failed to start: no row may linger (it would count against the plan)
 * and no half-started object may keep connecting for nobody. Failures here are logged; the
 * caller answers 503 either way (its cause logged with the request).
 */
async function abandonStart(env: Env, row: SessionRow): Promise<void> {
  for (const [what, undo] of [
    ["row", () => deleteSession(database(env), row.accountId, row.id)],
    // A fresh stub: after an exception the one that threw may be broken for further calls.
    ["object", () => sessionStub(env, row.id).destroy()],
  ] as const) {
    try {
      await undo();
    } catch (err) {
      log.error({ session: row.id, what, err }, "undoing a failed session start failed");
    }
  }
}

/** Destroys the object (it logs out if linked) and the row; its messages stay readable. */
export async function removeSession(env: Env, row: SessionRow): Promise<void> {
  // A 503 (its message statuses not saved yet) reaches the caller as one: nothing was removed.
  await callObject(() => sessionStub(env, row.id).destroy());
  const db = database(env);
  await deleteSession(db, row.accountId, row.id);
  // Its outbox is gone: what it had not sent yet fails now, refunded.
  for (const failed of await failPendingOfSession(db, row.id, "session_deleted")) await emitMessageEvent(env, "message.failed", failed);
}
