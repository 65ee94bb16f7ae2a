import { z } from "zod";
import { database } from "../db/client";
import { failPendingOfSession } from "../db/messages.repo";
import { emitMessageEvent } from "../events/message-events";
import { deleteSession, findSession, listSessions, newSessionRow, type SessionRow } from "../db/sessions.repo";
import { normalizePhone } from "../domain/phone";
import { planLimits } from "../domain/plans";
import { dataUrlBytes, qrPngDataUrl, qrSvg } from "../domain/qr";
import type { ConnectionMode } from "../domain/session-status";
import type { SessionConfig } from "../session/session.types";
import { ApiError, conflict, notFound, tooManyRequests, unprocessable } from "./errors";
import { callObject } from "./object-call";
import { ok } from "./http";
import type { Api } from "./route";
import { CreateSessionBody, PairingCodeBody, QrQuery, SessionIdParams, SessionSchema } from "./sessions.schemas";
import { queryInt } from "./schemas";

// How long session creation waits for the first QR before answering without one.
const FIRST_QR_WAIT_MS = 15_000;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const DEFAULT_WAKE_INTERVAL_MS = 15 * 60_000;

export function presentSession(row: SessionRow) {
  return {
    id: row.id,
    account_id: row.accountId,
    session_id: row.sessionId,
    name: row.name,
    phone_number: row.phoneNumber,
    // Seed 000 shows the session_id as display name until WhatsApp gives one.
    display_name: row.displayName ?? row.sessionId,
    status: row.status,
    reason: row.reason,
    sandbox: row.sandbox,
    connection_mode: row.connectionMode,
    last_seen_at: row.lastSeenAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export function sessionStub(env: Env, id: string) {
  return env.SESSION.get(env.SESSION.idFromName(id));
}

export function sessionConfig(row: SessionRow): SessionConfig {
  const settings = row.settings as { idle_timeout_ms?: number; wake_interval_ms?: number; qr_timeout_ms?: number };
  return {
    id: row.id,
    accountId: row.accountId,
    sessionId: row.sessionId,
    sandbox: row.sandbox,
    connectionMode: row.connectionMode,
    idleTimeoutMs: settings.idle_timeout_ms ?? DEFAULT_IDLE_TIMEOUT_MS,
    wakeIntervalMs: settings.wake_interval_ms ?? DEFAULT_WAKE_INTERVAL_MS,
    qrTimeoutMs: settings.qr_timeout_ms,
  };
}

export async function loadSession(env: Env, accountId: string, id: string): Promise<SessionRow> {
  const row = await findSession(database(env), accountId, id);
  if (!row) throw notFound("Session");
  return row;
}

const SessionEnvelope = z.object({ success: z.literal(true), session: SessionSchema });

/**
 * A session whose object failed to start: no row may linger (it would count against the plan)
 * and no half-started object may keep connecting for nobody. Errors here are logged; the
 * caller answers 503 either way.
 */
async function abandonStart(env: Env, row: SessionRow, cause: unknown): Promise<void> {
  console.error(JSON.stringify({ msg: "session start failed; creation undone", session: row.id, err: String(cause) }));
  for (const [what, undo] of [
    ["row", () => deleteSession(database(env), row.accountId, row.id)],
    // A fresh stub: after an exception the one that threw may be broken for further calls.
    ["object", () => sessionStub(env, row.id).destroy()],
  ] as const) {
    try {
      await undo();
    } catch (err) {
      console.error(JSON.stringify({ msg: "undoing a failed session start failed", session: row.id, what, err: String(err) }));
    }
  }
}

export function registerSessionRoutes(api: Api): void {
  const tags = ["Sessions"];

  api.route({
    method: "get",
    path: "/v1/whatsapp/sessions",
    summary: "List all sessions",
    tags,
    auth: "account",
    responses: { 200: { description: "Sessions, newest first", schema: z.object({ success: z.literal(true), sessions: z.array(SessionSchema) }) } },
    async handler({ env, auth }) {
      const rows = await listSessions(database(env), auth.account.id);
      return ok({ sessions: rows.map(presentSession) });
    },
  });

  api.route({
    method: "post",
    path: "/v1/whatsapp/sessions",
    summary: "Create a new session (answers with the first QR code)",
    tags,
    auth: "account",
    body: CreateSessionBody,
    bodyOptional: true,
    // The first QR is stale by the time of a replay: the client reads GET .../qr-code instead.
    idempotentAnswer: (answer) => ({ ...answer, qr_code: null }),
    responses: {
      201: {
        description: "Created; scan `qr_code` with WhatsApp, or follow /stream",
        schema: SessionEnvelope.extend({ qr_code: z.string().nullable() }),
      },
      429: { description: "The plan's session limit is reached" },
      503: { description: "The session object could not be started; nothing was created (`session_start_failed`)" },
    },
    async handler({ env, auth, body }) {
      if (body.sandbox && env.SANDBOX === "off") {
        throw unprocessable([{ field: "sandbox", in: "body", message: "The sandbox is disabled in this deployment." }]);
      }
      const mode = (body.connection_mode ?? (env.DEFAULT_CONNECTION_MODE === "on_demand" ? "on_demand" : "persistent")) as ConnectionMode;
      const row = newSessionRow({
        accountId: auth.account.id,
        name: body.name,
        sandbox: body.sandbox,
        connectionMode: mode,
        settings: {
          ...(body.idle_timeout_seconds ? { idle_timeout_ms: body.idle_timeout_seconds * 1000 } : {}),
          ...(body.wake_interval_seconds ? { wake_interval_ms: body.wake_interval_seconds * 1000 } : {}),
          ...(body.qr_timeout_seconds ? { qr_timeout_ms: body.qr_timeout_seconds * 1000 } : {}),
        },
      });
      const { max_sessions } = planLimits(auth.account.plan, env.PLANS);
      // Insert only while under the plan's limit, in one statement, so concurrent creates cannot overshoot.
      const inserted = await env.DB.prepare(
        `INSERT INTO sessions (id, account_id, session_id, name, status, sandbox, connection_mode, settings, last_seen_at, created_at, updated_at)
         SELECT ?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8, ?8, ?8
         WHERE ?9 IS NULL OR (SELECT count(*) FROM sessions WHERE account_id = ?2) < ?9`,
      )
        .bind(row.id, row.accountId, row.sessionId, row.name, row.sandbox ? 1 : 0, row.connectionMode, JSON.stringify(row.settings), row.createdAt, max_sessions)
        .run();
      if (inserted.meta.changes === 0) {
        throw tooManyRequests("session_limit_reached", `Your ${auth.account.plan} plan allows ${max_sessions} sessions. Delete one or upgrade.`);
      }
      const stub = sessionStub(env, row.id);
      try {
        await stub.start(sessionConfig(row));
      } catch (err) {
        await abandonStart(env, row, err);
        throw new ApiError(503, "session_start_failed", "The session could not be started; nothing was created. Retry the request.");
      }
      // The session exists from here on: a failed wait only means no QR in this answer (GET /qr has it).
      const qr = await stub.waitForQr(FIRST_QR_WAIT_MS).catch((err: unknown) => {
        console.warn(JSON.stringify({ msg: "waiting for the first QR failed; answering without one", session: row.id, err: err instanceof Error ? err.message : "unknown" }));
        return null;
      });
      const fresh = (await findSession(database(env), auth.account.id, row.id)) ?? row;
      return ok({ session: presentSession(fresh), qr_code: qr ? await qrPngDataUrl(qr) : null }, 201);
    },
  });

  api.route({
    method: "get",
    path: "/v1/whatsapp/sessions/{id}",
    summary: "Display a specified session",
    tags,
    auth: "account",
    params: SessionIdParams,
    responses: { 200: { description: "The session", schema: SessionEnvelope } },
    async handler({ env, auth, params }) {
      return ok({ session: presentSession(await loadSession(env, auth.account.id, params.id)) });
    },
  });

  api.route({
    method: "get",
    path: "/v1/whatsapp/sessions/{id}/qr-code",
    summary: "Get the current QR code of a pending session",
    tags,
    auth: "account",
    params: SessionIdParams,
    query: QrQuery,
    responses: {
      200: { description: "The QR code", schema: z.object({ success: z.literal(true), qr_code: z.string(), format: z.string() }) },
      409: { description: "The session is not pending (code `session_not_pending`), or no QR is available yet" },
    },
    async handler({ env, auth, params, query }) {
      const row = await loadSession(env, auth.account.id, params.id);
      const qr = row.status === "pending" ? await sessionStub(env, row.id).waitForQr(FIRST_QR_WAIT_MS) : null;
      if (row.status !== "pending") {
        throw conflict("session_not_pending", `The session is ${row.status}; a QR code exists only while it is pending.`, { status: row.status });
      }
      if (!qr) throw conflict("qr_unavailable", "No QR code is available right now; reconnect the session to get a new one.");
      switch (query.format) {
        case "raw":
          return ok({ qr_code: qr, format: "raw" });
        case "svg":
          return ok({ qr_code: await qrSvg(qr), format: "svg" });
        case "image":
          return new Response(dataUrlBytes(await qrPngDataUrl(qr)), { headers: { "Content-Type": "image/png", "Cache-Control": "no-store" } });
        default:
          return ok({ qr_code: await qrPngDataUrl(qr), format: "png" });
      }
    },
  });

  api.route({
    method: "get",
    path: "/v1/whatsapp/sessions/{id}/stream",
    summary: "Server-Sent Events: qr, connected, status, error",
    description:
      "Events carry an id; reconnect with Last-Event-ID to resume. A comment heartbeat every 15 s. Closes after `connected` or after `timeout` seconds (default 300).",
    tags,
    auth: "account",
    params: SessionIdParams,
    query: z.object({ timeout: queryInt(5, 3600, 300) }),
    responses: { 200: { description: "text/event-stream", contentType: "text/event-stream" } },
    async handler({ env, auth, params, query, request }) {
      const row = await loadSession(env, auth.account.id, params.id);
      const headers = new Headers();
      const lastEventId = request.headers.get("Last-Event-ID");
      if (lastEventId) headers.set("Last-Event-ID", lastEventId);
      return sessionStub(env, row.id).fetch(`https://session/stream?timeout=${query.timeout}`, { headers });
    },
  });

  api.route({
    method: "post",
    path: "/v1/whatsapp/sessions/{id}/pairing-code",
    summary: "Link by pairing code instead of QR (enter the code on the phone)",
    tags,
    auth: "account",
    idempotency: "refused", // A replay would hand back an expired linking code.
    params: SessionIdParams,
    body: PairingCodeBody,
    responses: {
      200: { description: "The 8-character code", schema: z.object({ success: z.literal(true), pairing_code: z.string(), phone_number: z.string() }) },
      409: { description: "The session is not pending" },
    },
    async handler({ env, auth, params, body }) {
      const row = await loadSession(env, auth.account.id, params.id);
      const phone = normalizePhone(body.phone_number);
      if (!phone) throw unprocessable([{ field: "phone_number", in: "body", message: "Not a valid phone number in international format." }]);
      if (row.status !== "pending") {
        throw conflict("session_not_pending", `The session is ${row.status}; pairing is possible only while it is pending.`, { status: row.status });
      }
      const stub = sessionStub(env, row.id);
      const code = await callObject(() => stub.requestPairingCode(phone), { 409: "session_not_ready" });
      return ok({ pairing_code: code, phone_number: phone });
    },
  });

  api.route({
    method: "patch",
    path: "/v1/whatsapp/sessions/{id}/disconnect",
    summary: "Disconnect a session (keeps the link, stops reconnecting)",
    tags,
    auth: "account",
    params: SessionIdParams,
    responses: { 200: { description: "Disconnected", schema: SessionEnvelope } },
    async handler({ env, auth, params }) {
      const row = await loadSession(env, auth.account.id, params.id);
      await sessionStub(env, row.id).disconnect();
      return ok({ session: presentSession(await loadSession(env, auth.account.id, row.id)) });
    },
  });

  api.route({
    method: "patch",
    path: "/v1/whatsapp/sessions/{id}/reconnect",
    summary: "Reconnect a session (back to pending with a new QR if the link is gone)",
    tags,
    auth: "account",
    params: SessionIdParams,
    responses: { 200: { description: "Reconnecting", schema: SessionEnvelope.extend({ qr_code: z.string().nullable() }) } },
    async handler({ env, auth, params }) {
      const row = await loadSession(env, auth.account.id, params.id);
      const stub = sessionStub(env, row.id);
      const { linked } = await stub.reconnect(sessionConfig(row));
      const qr = linked ? null : await stub.waitForQr(FIRST_QR_WAIT_MS);
      return ok({
        session: presentSession(await loadSession(env, auth.account.id, row.id)),
        qr_code: qr ? await qrPngDataUrl(qr) : null,
      });
    },
  });

  api.route({
    method: "post",
    path: "/v1/whatsapp/sessions/{id}/logout",
    summary: "Log out: unlink from the phone and wipe the keys (the session stays, disconnected)",
    tags,
    auth: "account",
    idempotency: "refused", // Logging out twice is harmless; the answer is the current state.
    params: SessionIdParams,
    responses: { 200: { description: "Logged out", schema: SessionEnvelope } },
    async handler({ env, auth, params }) {
      const row = await loadSession(env, auth.account.id, params.id);
      await sessionStub(env, row.id).logout();
      return ok({ session: presentSession(await loadSession(env, auth.account.id, row.id)) });
    },
  });

  api.route({
    method: "delete",
    path: "/v1/whatsapp/sessions/{id}",
    summary: "Delete a session (logs out if linked; its messages stay readable)",
    tags,
    auth: "account",
    params: SessionIdParams,
    responses: { 200: { description: "Deleted", schema: z.object({ success: z.literal(true), message: z.string() }) } },
    async handler({ env, auth, params }) {
      const row = await loadSession(env, auth.account.id, params.id);
      await sessionStub(env, row.id).destroy();
      const db = database(env);
      await deleteSession(db, auth.account.id, row.id);
      // Its outbox is gone: what it had not sent yet fails now, refunded.
      for (const failed of await failPendingOfSession(db, row.id, "session_deleted")) await emitMessageEvent(env, "message.failed", failed);
      return ok({ message: "Session deleted" });
    },
  });
}
