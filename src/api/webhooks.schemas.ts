import { z } from "zod";
import { CHAT_TYPES, LEGACY_EVENT_NAMES, SETTINGS_TYPES, WEBHOOK_EVENTS, isValidChatId, resolveEventNames } from "../domain/webhook-events";
import { normalizePhone } from "../domain/phone";
import { MAX_WEBHOOK_URL_LENGTH } from "../domain/webhook-url";
import { RESERVED_HEADERS } from "../domain/webhook-headers";
import { SANDBOX_MEDIA_HEADER } from "../runtime/media-target";
import { SafeKey, Timestamp, queryInt } from "./schemas";

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
// Hop-by-hop and framing headers fetch manages itself.
const FORBIDDEN_HEADERS = [...RESERVED_HEADERS, SANDBOX_MEDIA_HEADER, "content-length", "host", "connection", "transfer-encoding", "keep-alive", "upgrade", "te", "trailer"];

export const WebhookUrl = z.string().trim().min(1).max(MAX_WEBHOOK_URL_LENGTH).meta({
  description: "http or https, no credentials in it. Loopback/private hosts only where the deployment allows them.",
  example: "https://example.com/whatsapp/events",
});

export const WebhookEvents = z
  .array(z.string().min(1).max(100))
  .min(1)
  .max(50)
  .superRefine((names, ctx) => {
    const { unknown } = resolveEventNames(names);
    for (const name of unknown) {
      ctx.addIssue({
        code: "custom",
        path: [names.indexOf(name)],
        message: `Unknown event "${name}". Use ${WEBHOOK_EVENTS.join(", ")} (or the legacy setWebhook names: ${LEGACY_EVENT_NAMES.join(", ")}).`,
      });
    }
  })
  .meta({
    description: `Events to receive: ${WEBHOOK_EVENTS.join(", ")}. Legacy names (onMessage, onAnyMessage, onAck, onStateChanged, onLogout, onQR) and "*" (every event, presence.update included) are accepted and mapped.`,
    example: ["message.received", "message.delivered"],
  });

export const WebhookHeaders = z
  .record(SafeKey, z.string().max(2048))
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > 20) ctx.addIssue({ code: "custom", message: "At most 20 custom headers." });
    // HTTP header names are case-insensitive: two spellings would be one header, which value?
    const seen = new Map<string, string>();
    for (const name of names) {
      const first = seen.get(name.toLowerCase());
      if (first !== undefined) ctx.addIssue({ code: "custom", path: [name], message: `Same header as "${first}" (names are case-insensitive): give it once.` });
      else seen.set(name.toLowerCase(), name);
    }
    for (const [name, value] of Object.entries(headers)) {
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: "custom", path: [name], message: "Not a valid header name." });
      else if (FORBIDDEN_HEADERS.includes(name.toLowerCase())) {
        ctx.addIssue({ code: "custom", path: [name], message: `"${name}" is set by the gateway and cannot be overridden.` });
      }
      if (/[\r\n\0]/.test(value)) ctx.addIssue({ code: "custom", path: [name], message: "Header values cannot contain line breaks." });
    }
  })
  .meta({ description: "Sent with every delivery (e.g. an Authorization for your receiver).", example: { "X-Api-Key": "my-receiver-key" } });

export const WebhookFiltersSchema = z
  .object({
    chat_ids: z
      .array(z.string().trim().min(1).max(100).refine(isValidChatId, "Not a chat id (a JID such as 14155552671@s.whatsapp.net or 1203...@g.us, or a phone number)."))
      .max(500)
      .optional(),
    chat_types: z.array(z.enum(CHAT_TYPES)).max(4).optional(),
    message_types: z.array(z.string().trim().min(1).max(50)).max(50).optional().meta({ example: ["text", "image"] }),
    from_me: z.boolean().optional().meta({ description: "true: only messages this session sent; false: only messages it received." }),
    settings_types: z
      .array(z.enum(SETTINGS_TYPES))
      .max(4)
      .optional()
      .meta({
        description:
          "Event categories: messages (message.*), groups (group.*), system (session.status when connected or logged out, and group.joined), " +
          "chats (chat settings: chat.updated). Applies to every event. Cannot be combined with chat_ids, chat_types or message_types.",
        example: ["groups", "system"],
      }),
    mentions: z
      .array(z.string().trim().min(1).max(30).refine((v) => v.toLowerCase() === "me" || normalizePhone(v) !== null, 'A phone number, or "me".'))
      .max(100)
      .optional()
      .meta({ description: 'Only messages that @mention one of these phone numbers; "me" = messages that mention this session.', example: ["me"] }),
  })
  .strict()
  .superRefine((filters, ctx) => {
    if (!filters.settings_types?.length) return;
    for (const field of ["chat_ids", "chat_types", "message_types"] as const) {
      if (filters[field]?.length) ctx.addIssue({ code: "custom", path: [field], message: `settings_types cannot be combined with ${field}.` });
    }
  })
  .meta({
    id: "WebhookFilters",
    description:
      "Every filter set must match (any of its values). settings_types applies to every event; the other filters concern message events, and other events pass them.",
  });

/** DELETE /v1/whatsapp/webhooks: no body deletes every webhook; a `url` only the webhooks with it. */
export const DeleteWebhooksBody = z
  .object({ url: WebhookUrl.optional().meta({ description: "Delete only the webhooks with this URL." }) })
  .strict()
  .meta({ id: "DeleteWebhooks", example: { url: "https://example.com/hooks/whatsapp" } });

export const WebhookSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENTS)),
    whatsapp_session_id: z.uuid().nullable().meta({ description: "Only this session's events; null = every session of the account." }),
    headers: z.record(z.string(), z.string()).meta({
      description: 'Custom header names, each value shown as "***" (only the creation response shows the values). In a PATCH, "***" keeps the stored value.',
      example: { "X-Api-Key": "***" },
    }),
    filters: WebhookFiltersSchema,
    enabled: z.boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: "Webhook" });

export const NewWebhookSchema = WebhookSchema.extend({
  headers: z.record(z.string(), z.string()).meta({ description: "Custom headers with their values: shown in this response only (masked afterwards)." }),
  secret: z.string().nullable().meta({
    description: "Standard Webhooks signing secret (whsec_...). Shown only in this response: store it now. null in an Idempotency-Key replay.",
    example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  }),
}).meta({ id: "NewWebhook" });

export const CreateWebhookBody = z.object({
  url: WebhookUrl,
  events: WebhookEvents.optional().meta({ description: "Default: every event except the opt-in `presence.update` (name it, or \"*\", to receive it)." }),
  whatsapp_session_id: z.string().min(1).max(100).nullable().optional().meta({ description: "Session uuid or session_... id." }),
  headers: WebhookHeaders.optional(),
  filters: WebhookFiltersSchema.optional(),
  enabled: z.boolean().default(true),
}).meta({ example: { url: "https://example.com/whatsapp/events", events: ["message.received", "message.delivered"], headers: { "X-Api-Key": "my-receiver-key" }, filters: { chat_types: ["group"], mentions: ["me"] } } });

export const UpdateWebhookBody = z
  .object({
    url: WebhookUrl.optional(),
    events: WebhookEvents.optional(),
    whatsapp_session_id: z.string().min(1).max(100).nullable().optional(),
    headers: WebhookHeaders.nullable().optional().meta({ description: "Replaces all custom headers; null removes them." }),
    filters: WebhookFiltersSchema.nullable().optional().meta({ description: "Replaces the filters; null removes them." }),
    enabled: z.boolean().optional(),
  })
  .strict()
  .meta({ example: { events: ["message.received"], filters: { settings_types: ["messages", "groups"] }, enabled: true } });

export const WebhookIdParams = z.object({ id: z.uuid().meta({ description: "The webhook ID (uuid)." }) });
export const DeliveryParams = z.object({ id: z.uuid(), delivery_id: z.uuid() });

export const DELIVERY_STATUSES = ["pending", "delivered", "failed", "dead"] as const;

export const DeliveriesQuery = z.object({
  limit: queryInt(1, 100, 20),
  cursor: z.string().max(500).optional().meta({ description: "`next_cursor` of the previous page." }),
  status: z.enum(DELIVERY_STATUSES).optional(),
});

export const AttemptSchema = z
  .object({
    attempt: z.number().int(),
    status_code: z.number().int().nullable(),
    error: z.string().nullable(),
    duration_ms: z.number().int(),
    created_at: Timestamp,
  })
  .meta({ id: "WebhookAttempt" });

export const DeliverySchema = z
  .object({
    id: z.uuid(),
    webhook_id: z.uuid().nullable(),
    event_id: z.string().meta({ description: "The `webhook-id` header: the same on every attempt and replay." }),
    event_type: z.string(),
    url: z.string(),
    status: z.enum(DELIVERY_STATUSES).meta({
      description: "pending: queued; failed: last attempt failed, a retry is scheduled (next_attempt_at); delivered; dead: gave up (replayable).",
    }),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    next_attempt_at: Timestamp.nullable(),
    delivered_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
    payload: z.record(z.string(), z.unknown()).meta({ description: "The JSON body POSTed." }),
    attempt_log: z.array(AttemptSchema),
  })
  .meta({ id: "WebhookDelivery" });
