import { z } from "zod";
import { database } from "../db/client";
import { findSession } from "../db/sessions.repo";
import { callObject } from "./object-call";
import { ApiError, conflict, notFound } from "./errors";
import { ok } from "./http";
import type { Api } from "./route";
import { sessionStub } from "./sessions.routes";
import { SessionIdParams } from "./sessions.schemas";
import { singleLine } from "./schemas";
import { FAULT_KINDS, type FaultKind } from "../sandbox/faults";

// The driver of the account's sandbox WhatsApp: simulated phones that scan, pair, send,
// receive and acknowledge, and faults on command. Off when SANDBOX = "off".

const PhoneParams = z.object({ phone_number: z.string().regex(/^\+?\d{6,20}$/).meta({ example: "15550001001" }) });
// Phone messages carry base64 media (up to ~16 MB of file), above the API's 1 MiB body cap.
const MEDIA_BODY_BYTES = 24 * 1024 * 1024;
const ReceiptMode = z.enum(["auto", "manual"]);
const PhoneNumber = z.string().regex(/^\+?\d{6,20}$/);
// What a simulated phone can send: text, a media file (base64), or a location.
const PhoneMessageBody = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("text"),
    text: z.string().min(1).max(4096),
    quoted_id: z.string().optional(),
    mentions: z.array(PhoneNumber).max(50).optional(),
  }),
  z.object({
    type: z.enum(["image", "video", "audio", "document", "sticker"]),
    base64: z.string().min(1).max(22_000_000).meta({ description: "The file, base64 (up to ~16 MB)." }),
    mimetype: z.string().max(100).optional(),
    caption: z.string().max(1024).optional(),
    filename: z.string().max(200).optional(),
    ptt: z.boolean().optional(),
  }),
  z.object({
    type: z.literal("location"),
    latitude: z.number().min(-90).max(90),
    longitude: z.number().min(-180).max(180),
    name: z.string().max(1000).optional(),
    address: z.string().max(1000).optional(),
  }),
]);
const ReceiptPolicyBody = z
  .object({
    delivered: ReceiptMode.optional(),
    read: ReceiptMode.optional(),
    delivered_delay_ms: z.number().int().min(0).max(600_000).optional(),
    read_delay_ms: z.number().int().min(0).max(600_000).optional(),
  })
  .meta({ id: "SandboxReceiptPolicy" });

function sandboxStub(env: Env, accountId: string) {
  if (env.SANDBOX === "off") throw new ApiError(404, "sandbox_disabled", "The sandbox is disabled in this deployment.");
  return env.SANDBOX_WORLD.get(env.SANDBOX_WORLD.idFromName(accountId));
}

/** Sandbox errors carry their HTTP status; anything else stays an internal error. */
const drive = <T>(fn: () => Promise<T>) => callObject(fn, { 409: "sandbox_conflict" });

const digits = (phone: string) => phone.replace(/^\+/, "");

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
    body: z.object({
      phone_number: z.string().regex(/^\+?\d{6,20}$/).optional(),
      name: singleLine(z.string().trim().min(1).max(100)).optional(),
      receipt_policy: ReceiptPolicyBody.optional(),
    }),
    bodyOptional: true,
    responses: { 201: { description: "The phone" } },
    async handler({ env, auth, body }) {
      const stub = sandboxStub(env, auth.account.id);
      const phone = await drive(() =>
        stub.createPhone({ ...body, phone_number: body.phone_number ? digits(body.phone_number) : undefined }),
      );
      return ok({ phone }, 201);
    },
  });

  api.route({
    method: "get",
    path: "/v1/sandbox/phones",
    summary: "List your sandbox phones",
    tags,
    auth: "account",
    responses: { 200: { description: "Phones" } },
    async handler({ env, auth }) {
      return ok({ phones: await drive(() => sandboxStub(env, auth.account.id).listPhones()) });
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
    body: z.object({ phone_number: z.string().regex(/^\+?\d{6,20}$/) }),
    responses: { 200: { description: "Linked" }, 409: { description: "The session is not pending or not a sandbox session" } },
    async handler({ env, auth, params, body }) {
      const stub = sandboxStub(env, auth.account.id);
      const session = await findSession(database(env), auth.account.id, params.id);
      if (!session) throw notFound("Session");
      if (!session.sandbox) throw conflict("not_sandbox_session", "This session is linked to WhatsApp, not to the sandbox.");
      const qr = await sessionStub(env, session.id).waitForQr(10_000);
      if (!qr) throw conflict("session_not_pending", "The session shows no QR code to scan.", { status: session.status });
      const result = await drive(() => stub.scan(session.id, digits(body.phone_number), qr));
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
    body: z.object({ code: z.string().regex(/^[A-Za-z0-9-]{8,9}$/) }),
    responses: { 200: { description: "Linked" } },
    async handler({ env, auth, params, body }) {
      const stub = sandboxStub(env, auth.account.id);
      const result = await drive(() => stub.enterPairingCode(digits(params.phone_number), body.code.replace("-", "").toUpperCase()));
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
    body: PhoneMessageBody.and(z.object({ to: PhoneNumber })),
    maxBodyBytes: MEDIA_BODY_BYTES,
    responses: { 201: { description: "Sent" } },
    async handler({ env, auth, params, body }) {
      const stub = sandboxStub(env, auth.account.id);
      const message = await drive(() => stub.sendMessage(digits(params.phone_number), { ...body, to: digits(body.to) } as never));
      return ok({ message }, 201);
    },
  });

  api.route({
    method: "post",
    path: "/v1/sandbox/groups",
    summary: "A sandbox phone creates a group (members: sandbox phones and linked numbers)",
    tags,
    auth: "account",
    body: z.object({ owner: PhoneNumber, subject: singleLine(z.string().trim().min(1).max(100)), members: z.array(PhoneNumber).min(1).max(256) }),
    responses: { 201: { description: "The group" } },
    async handler({ env, auth, body }) {
      const stub = sandboxStub(env, auth.account.id);
      const group = await drive(() => stub.createGroup(digits(body.owner), { subject: body.subject, members: body.members.map(digits) }));
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
    body: PhoneMessageBody.and(z.object({ from: PhoneNumber })),
    maxBodyBytes: MEDIA_BODY_BYTES,
    responses: { 201: { description: "Sent" } },
    async handler({ env, auth, params, body }) {
      const stub = sandboxStub(env, auth.account.id);
      const { from, ...message } = body;
      return ok({ message: await drive(() => stub.sendGroupMessage(digits(from), params.group_jid, message as never)) }, 201);
    },
  });

  api.route({
    method: "get",
    path: "/v1/sandbox/phones/{phone_number}/inbox",
    summary: "What a sandbox phone received, decrypted",
    tags,
    auth: "account",
    params: PhoneParams,
    responses: { 200: { description: "Messages, oldest first" } },
    async handler({ env, auth, params }) {
      return ok({ messages: await drive(() => sandboxStub(env, auth.account.id).inbox(digits(params.phone_number))) });
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
    body: z.object({ ids: z.array(z.string().min(1)).min(1).max(500), type: z.enum(["delivered", "read"]) }),
    responses: { 200: { description: "Sent" } },
    async handler({ env, auth, params, body }) {
      const stub = sandboxStub(env, auth.account.id);
      return ok({ result: await drive(() => stub.sendReceipts(digits(params.phone_number), body.ids, body.type)) });
    },
  });

  api.route({
    method: "put",
    path: "/v1/sandbox/phones/{phone_number}/receipt-policy",
    summary: "How a sandbox phone acknowledges messages (automatic after a delay, or manual)",
    tags,
    auth: "account",
    params: PhoneParams,
    body: ReceiptPolicyBody,
    responses: { 200: { description: "The phone" } },
    async handler({ env, auth, params, body }) {
      const stub = sandboxStub(env, auth.account.id);
      return ok({ phone: await drive(() => stub.setReceiptPolicy(digits(params.phone_number), body)) });
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
    body: z.object({
      kind: z.enum(FAULT_KINDS as [FaultKind, ...FaultKind[]]),
      ms: z.number().int().min(0).max(600_000).optional(),
      code: z
        .string()
        .max(16)
        .optional()
        .meta({ description: "refuse_acks: the ack error code; stream_error: 500, 503, 515, replaced or device_removed." }),
      count: z
        .number()
        .int()
        .min(1)
        .max(100)
        .optional()
        .meta({
          description:
            "refuse_upgrade, http_error: how many upgrades in a row fail (default 2); stream_error: how many logins in a row end with it (default 1).",
        }),
      status: z.number().int().min(400).max(599).optional().meta({ description: "http_error: the HTTP status of the refused upgrade." }),
    }),
    responses: { 200: { description: "Applied" } },
    async handler({ env, auth, params, body }) {
      const stub = sandboxStub(env, auth.account.id);
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
      200: { description: "The root key", schema: z.object({ success: z.literal(true), trust_root: z.string().meta({ format: "byte" }) }) },
    },
    async handler({ env, auth }) {
      const root = await sandboxStub(env, auth.account.id).trustRoot();
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
      const stub = sandboxStub(env, auth.account.id);
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
    body: z.object({ phone_number: z.string().regex(/^\+?\d{6,20}$/), qr: z.string().min(1).max(2000) }),
    responses: { 200: { description: "Linked" }, 409: { description: "The client shows no such QR code" } },
    async handler({ env, auth, params, body }) {
      const stub = sandboxStub(env, auth.account.id);
      const result = await drive(() => stub.scan(`client:${params.label}`, digits(body.phone_number), body.qr));
      return ok({ result });
    },
  });
}
