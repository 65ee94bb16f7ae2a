import { z } from "zod";
import { database } from "../db/client";
import { findSession } from "../db/sessions.repo";
import { PhoneParams, drive, envelope, sandbox } from "./sandbox.common";
import { ApiError, conflict, notFound } from "./errors";
import { ok } from "./http";
import type { Api } from "./route";
import { SessionIdParams } from "./sessions.schemas";
import {
  ClientScanInput,
  CreateGroupInput,
  CreatePhoneInput,
  FaultInput,
  GroupSendInput,
  PairingCodeInput,
  PhoneMessageInput,
  ReceiptPolicyInput,
  ReceiptsInput,
  RetryReceiptsInput,
  ScanInput,
} from "../sandbox/driver.schemas";
import {
  SandboxFaultResult,
  SandboxGroup,
  SandboxInboxMessage,
  SandboxLinkResult,
  SandboxPhone,
  SandboxReceiptsResult,
  SandboxRetryReceiptsResult,
  SandboxSent,
} from "../sandbox/driver.responses";
import { sessionStub } from "../platform/bindings";

// The driver of the account's sandbox WhatsApp: simulated phones that scan, pair, send,
// receive and acknowledge, and faults on command. Off when SANDBOX = "off".

// Phone messages carry base64 media (up to ~16 MB of file), above the API's 1 MiB body cap.
const MEDIA_BODY_BYTES = 24 * 1024 * 1024;

/** The name an external client connects under (its identity in the sandbox: `client:<label>`). */
const ClientLabel = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/).meta({ example: "baseline-1" });

export function registerSandboxRoutes(api: Api): void {
  const tags = ["Sandbox"];

  api.route({
    method: "post",
    path: "/v1/sandbox/phones",
    summary: "Create a simulated WhatsApp user in your sandbox",
    tags,
    auth: "account",
    body: CreatePhoneInput.meta({ example: { phone_number: "15550001001", name: "Alice", receipt_policy: { delivered: "auto", read: "manual" } } }),
    bodyOptional: true,
    responses: { 201: { description: "The phone", schema: envelope({ phone: SandboxPhone }) } },
    async handler({ env, auth, body }) {
      const stub = sandbox(env, auth.account.id);
      const phone = await drive(() => stub.createPhone(body));
      return ok({ phone }, 201);
    },
  });

  api.route({
    method: "get",
    path: "/v1/sandbox/phones",
    summary: "List your sandbox phones",
    tags,
    auth: "account",
    responses: { 200: { description: "Phones", schema: envelope({ phones: z.array(SandboxPhone) }) } },
    async handler({ env, auth }) {
      return ok({ phones: await drive(() => sandbox(env, auth.account.id).listPhones()) });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/sessions/{id}/scan",
    summary: "A sandbox phone scans the session's current QR code",
    tags,
    auth: "account",
    idempotency: "refused", // A replay would answer "linked" for a scan that may since have been undone; a repeat only answers 409.
    params: SessionIdParams,
    body: ScanInput.meta({ example: { phone_number: "15550001001" } }),
    responses: { 200: { description: "Linked", schema: envelope({ result: SandboxLinkResult }) }, 409: { description: "The session is not pending or not a sandbox session" } },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      const session = await findSession(database(env), auth.account.id, params.id);
      if (!session) throw notFound("Session");
      if (!session.sandbox) throw conflict("not_sandbox_session", "This session is linked to WhatsApp, not to the sandbox.");
      const qr = await sessionStub(env, session.id).waitForQr(10_000);
      if (!qr) throw conflict("session_not_pending", "The session shows no QR code to scan.", { status: session.status });
      const result = await drive(() => stub.scan(session.id, body.phone_number, qr));
      return ok({ result });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/phones/{phone_number}/pairing-code",
    summary: "A sandbox phone enters a pairing code shown by a session",
    tags,
    auth: "account",
    idempotency: "refused", // Linking with a one-time code: the answer is ephemeral and a repeat is refused by the code itself.
    params: PhoneParams,
    body: PairingCodeInput.meta({ example: { code: "ABCD-1234" } }),
    responses: { 200: { description: "Linked", schema: envelope({ result: SandboxLinkResult }) } },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      const result = await drive(() => stub.enterPairingCode(params.phone_number, body.code));
      return ok({ result });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/phones/{phone_number}/messages",
    summary: "A sandbox phone sends a message (text, media or location) to a linked number",
    tags,
    auth: "account",
    params: PhoneParams,
    body: PhoneMessageInput.meta({ example: { to: "15550009999", type: "text", text: "Hi, what are your opening hours?" } }),
    maxBodyBytes: MEDIA_BODY_BYTES,
    responses: { 201: { description: "Sent", schema: envelope({ message: SandboxSent }) } },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      const message = await drive(() => stub.sendMessage(params.phone_number, body));
      return ok({ message }, 201);
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/groups",
    summary: "A sandbox phone creates a group (members: sandbox phones and linked numbers)",
    tags,
    auth: "account",
    body: CreateGroupInput.meta({ example: { subject: "Book club", owner: "15550001001", members: ["15550001002", "15550009999"] } }),
    responses: { 201: { description: "The group", schema: envelope({ group: SandboxGroup }) } },
    async handler({ env, auth, body }) {
      const stub = sandbox(env, auth.account.id);
      const { owner, ...spec } = body;
      const group = await drive(() => stub.createGroup(owner, spec));
      return ok({ group }, 201);
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/groups/{group_jid}/messages",
    summary: "A sandbox phone sends a message to a group",
    tags,
    auth: "account",
    params: z.object({ group_jid: z.string().regex(/^[\d-]+@g\.us$/).meta({ example: "120363000000000001@g.us" }) }),
    body: GroupSendInput.meta({ example: { from: "15550001002", type: "text", text: "See you on Friday!" } }),
    maxBodyBytes: MEDIA_BODY_BYTES,
    responses: { 201: { description: "Sent", schema: envelope({ message: SandboxSent }) } },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      const { from, ...message } = body;
      return ok({ message: await drive(() => stub.sendGroupMessage(from, params.group_jid, message)) }, 201);
    },
  });

  api.route({
    method: "get",
    path: "/v1/sandbox/phones/{phone_number}/inbox",
    summary: "What a sandbox phone received, decrypted",
    tags,
    auth: "account",
    params: PhoneParams,
    responses: { 200: { description: "Messages, oldest first", schema: envelope({ messages: z.array(SandboxInboxMessage) }) } },
    async handler({ env, auth, params }) {
      return ok({ messages: await drive(() => sandbox(env, auth.account.id).inbox(params.phone_number)) });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/phones/{phone_number}/receipts",
    summary: "A sandbox phone sends delivered or read receipts",
    tags,
    auth: "account",
    idempotency: "refused", // A repeated receipt changes nothing (a message is read once).
    params: PhoneParams,
    body: ReceiptsInput.meta({ example: { ids: ["3EB0C431C26A1916E4A8"], type: "read" } }),
    responses: { 200: { description: "Sent", schema: envelope({ result: SandboxReceiptsResult }) } },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      return ok({ result: await drive(() => stub.sendReceipts(params.phone_number, body.ids, body.type)) });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/phones/{phone_number}/retry-receipts",
    summary: "A sandbox phone could not decrypt messages it received and asks for them again",
    description:
      "The phone sends a retry receipt (`<receipt type=\"retry\">` with `<retry count>` and `<registration>`) to the device that sent each message; " +
      "the message shows no content until the resend opens. The inbox shows `retry_count`, `awaiting_resend` and `resent_at`.",
    tags,
    auth: "account",
    idempotency: "refused", // Each call is another retry (the count goes up).
    params: PhoneParams,
    body: RetryReceiptsInput.meta({ example: { ids: ["3EB0C431C26A1916E4A8"] } }),
    responses: { 200: { description: "Sent", schema: envelope({ result: SandboxRetryReceiptsResult }) } },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      return ok({ result: await drive(() => stub.sendRetryReceipts(params.phone_number, body.ids)) });
    },
  });

  api.route({
    method: "put",
    path: "/v1/sandbox/phones/{phone_number}/receipt-policy",
    summary: "How a sandbox phone acknowledges messages (automatic after a delay, or manual)",
    tags,
    auth: "account",
    params: PhoneParams,
    body: ReceiptPolicyInput.meta({ example: { delivered: "auto", read: "manual", delivered_delay_ms: 500 } }),
    responses: { 200: { description: "The phone", schema: envelope({ phone: SandboxPhone }) } },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      return ok({ phone: await drive(() => stub.setReceiptPolicy(params.phone_number, body)) });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/sessions/{id}/faults",
    summary: "Inject a fault into a sandbox session's connection",
    tags,
    auth: "account",
    idempotency: "refused", // A fault is a one-off test action; its result describes that moment only.
    params: SessionIdParams,
    body: FaultInput.meta({ example: { kind: "delay_acks", ms: 5000 } }),
    responses: { 200: { description: "Applied", schema: envelope({ result: SandboxFaultResult }) } },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      const session = await findSession(database(env), auth.account.id, params.id);
      if (!session) throw notFound("Session");
      if (!session.sandbox) throw conflict("not_sandbox_session", "This session is linked to WhatsApp, not to the sandbox.");
      const { kind, ...opts } = body;
      return ok({ result: await drive(() => stub.fault(session.id, kind, opts)) });
    },
  });

  // ---- External clients: your own WhatsApp client (e.g. Baileys in Node) linked to the sandbox ----

  api.route({
    method: "get",
    path: "/v1/sandbox/trust-root",
    summary: "The sandbox's Noise root public key, for an external client to trust",
    description:
      "32 bytes, base64: the value an external Baileys client puts in `WA_CERT_DETAILS.PUBLIC_KEY` to accept the sandbox's certificate chain.",
    tags,
    auth: "account",
    responses: {
      200: { description: "The root key", schema: envelope({ trust_root: z.string().meta({ format: "byte" }) }) },
    },
    async handler({ env, auth }) {
      const root = await sandbox(env, auth.account.id).trustRoot();
      return ok({ trust_root: Buffer.from(root).toString("base64") });
    },
  });

  api.route({
    method: "get",
    path: "/v1/sandbox/ws/chat",
    summary: "WebSocket: connect your own WhatsApp client (e.g. Baileys) to the sandbox",
    description:
      "Send a WebSocket upgrade with the account API key in `Authorization`; the socket speaks WhatsApp's protocol with your sandbox. " +
      "`client` names the client (its identity in the sandbox); link it with `POST /v1/sandbox/clients/{label}/scan`.",
    tags,
    auth: "account",
    query: z.object({ client: ClientLabel }),
    responses: { 101: { description: "Switching protocols" }, 426: { description: "Not a WebSocket upgrade" } },
    async handler({ env, auth, query, request }) {
      if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
        throw new ApiError(426, "upgrade_required", "This endpoint expects a WebSocket upgrade.", [], { Upgrade: "websocket" });
      }
      const stub = sandbox(env, auth.account.id);
      return stub.fetch(`https://sandbox/ws/chat?session=${encodeURIComponent(`client:${query.client}`)}`, {
        headers: { Upgrade: "websocket" },
      });
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/clients/{label}/scan",
    summary: "A sandbox phone scans the QR code an external client shows",
    tags,
    auth: "account",
    idempotency: "refused", // Scanning a QR that expires: the answer is ephemeral; a repeat answers 409.
    params: z.object({ label: ClientLabel }),
    body: ClientScanInput.meta({ example: { phone_number: "15550001001", qr: "2@Ak3xQ9vT0m,Yk1l6mJ0ZfW9c2xv3T1m8Qk=,Zt2Qp9sL4nB7wX1cV6mK0aD3fG8hJ5=,Qm9vZ2Fk3Lp7sT1x" } }),
    responses: { 200: { description: "Linked", schema: envelope({ result: SandboxLinkResult }) }, 409: { description: "The client shows no such QR code" } },
    async handler({ env, auth, params, body }) {
      const stub = sandbox(env, auth.account.id);
      const result = await drive(() => stub.scan(`client:${params.label}`, body.phone_number, body.qr));
      return ok({ result });
    },
  });
}
