import { z } from "zod";
import { database } from "../db/client";
import { listSessions } from "../db/sessions.repo";
import { normalizePhone } from "../domain/phone";
import { dataUrlBytes, qrPngDataUrl, qrSvg } from "../domain/qr";
import { ApiError, conflict, unprocessable } from "./errors";
import { callObject } from "./object-call";
import { ok } from "./http";
import { presentSession } from "./presenters";
import type { Api } from "./route";
import { FIRST_QR_WAIT_MS, createSession, removeSession } from "./sessions.actions";
import { CreateSessionBody, PairingCodeBody, QrQuery, SessionIdParams, SessionSchema } from "./sessions.schemas";
import { queryInt } from "./schemas";
import { loadSession, sessionConfig } from "./session-lookup";
import { sessionStub } from "../platform/bindings";
import type { PairingCodeAnswer } from "../session/pairing-code";

const SessionEnvelope = z.object({ success: z.literal(true), session: SessionSchema });

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
      return ok(await createSession(env, auth.account, body), 201);
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
      409: { description: "The session is not pending (`session_not_pending`), not ready to pair (`session_not_ready`), or another pairing-code request is in flight (`pairing_code_in_progress`)" },
      502: { description: "WhatsApp refused the request (`pairing_code_refused`; its code in `details`), e.g. for a browser it does not accept" },
      504: { description: "WhatsApp did not answer the request in time (`pairing_code_unanswered`); try again" },
    },
    async handler({ env, auth, params, body }) {
      const row = await loadSession(env, auth.account.id, params.id);
      const phone = normalizePhone(body.phone_number);
      if (!phone) throw unprocessable([{ field: "phone_number", in: "body", message: "Not a valid phone number in international format." }]);
      if (row.status !== "pending") {
        throw conflict("session_not_pending", `The session is ${row.status}; pairing is possible only while it is pending.`, { status: row.status });
      }
      const stub = sessionStub(env, row.id);
      // Typed by hand: RPC's promise types do not keep a union apart.
      const answer = await callObject<PairingCodeAnswer>(async () => (await stub.requestPairingCode(phone)) as PairingCodeAnswer, { 409: "session_not_ready" });
      if (answer.kind === "refused") {
        throw new ApiError(
          502,
          "pairing_code_refused",
          `WhatsApp refused the pairing-code request (${answer.code ?? "no code"}${answer.text ? ` ${answer.text}` : ""}). Check the session's browser ("Browser (OS)" with a known browser and OS) and the phone number.`,
          { whatsapp_code: answer.code, whatsapp_text: answer.text },
        );
      }
      if (answer.kind === "busy") throw conflict("pairing_code_in_progress", "A pairing-code request for this session is still waiting for WhatsApp's answer; try again in a moment.");
      if (answer.kind === "unanswered") throw new ApiError(504, "pairing_code_unanswered", "WhatsApp did not answer the pairing-code request in time; try again.");
      return ok({ pairing_code: answer.code, phone_number: phone });
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
      await removeSession(env, row);
      return ok({ message: "Session deleted" });
    },
  });
}
