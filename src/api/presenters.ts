import type { AccountRow } from "../db/accounts.repo";
import type { ApiKeyRow } from "../db/api-keys.repo";
import type { CampaignRow, MessageRow, MessageStatus } from "../db/messages.rows";
import type { SessionRow } from "../db/sessions.repo";
import type { AttemptRow, DeliveryRow, WebhookRow } from "../db/webhooks.repo";
import { planLimits, remainingMessages, type PlanName } from "../domain/plans";
import { utcDay } from "../domain/time";
import type { WebhookFilters } from "../domain/webhook-events";
import { maskHeaders } from "../domain/webhook-headers";
import { MESSAGE_STATUSES } from "./messages.schemas";

// Rows as the API shows them (snake_case, no secrets); the shapes are declared in *.schemas.ts.

export function presentApiKey(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    last_used_at: row.lastUsedAt,
    revoked_at: row.revokedAt,
    created_at: row.createdAt,
  };
}

export function presentAccount(row: AccountRow, env: Env, usage: { messages: number; sessions: number }) {
  return {
    id: row.id,
    name: row.name,
    plan: row.plan as PlanName,
    balance: row.balance,
    message_cost: row.messageCost,
    remaining_messages: remainingMessages(row.balance, row.messageCost),
    usage: { day: utcDay(), ...usage },
    limits: planLimits(row.plan, env.PLANS),
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export function presentSession(row: SessionRow) {
  return {
    id: row.id,
    account_id: row.accountId,
    session_id: row.sessionId,
    name: row.name,
    phone_number: row.phoneNumber,
    // Until WhatsApp gives a name, the session_id is the display name.
    display_name: row.displayName ?? row.sessionId,
    status: row.status,
    reason: row.reason,
    banned_until: row.bannedUntil,
    sandbox: row.sandbox,
    connection_mode: row.connectionMode,
    browser: (row.settings as { browser?: string } | null)?.browser ?? null,
    last_seen_at: row.lastSeenAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export function presentMessage(row: MessageRow) {
  return {
    id: row.id,
    whatsapp_session_id: row.whatsappSessionId,
    campaign_id: row.campaignId,
    otp_id: row.otpId,
    provider_message_id: row.providerMessageId,
    from_number: row.fromNumber,
    to_number: row.toNumber,
    from_lid: row.fromLid,
    chat_lid: row.chatLid,
    type: row.type,
    content: row.content,
    media_url: row.mediaUrl,
    status: row.status,
    direction: row.direction,
    reason: row.reason,
    cost: row.cost,
    payload: row.payload,
    metadata: row.metadata,
    callback_url: row.callbackUrl,
    callback_data: row.callbackData,
    scheduled_at: row.scheduledAt,
    sent_at: row.sentAt,
    delivered_at: row.deliveredAt,
    read_at: row.readAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

const DONE = ["sent", "delivered", "read", "failed"] as const;

/** A campaign with its messages counted per status (`found`: the statuses that have messages). */
export function presentCampaign(campaign: CampaignRow, found: Partial<Record<MessageStatus, number>>) {
  const counts = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, found[s] ?? 0])) as Record<MessageStatus, number>;
  const done = DONE.reduce((n, s) => n + counts[s], 0);
  return {
    id: campaign.id,
    whatsapp_session_id: campaign.whatsappSessionId,
    type: campaign.type,
    total: campaign.total,
    delay_between: campaign.delayBetween,
    scheduled_at: campaign.scheduledAt,
    counts,
    progress: { done, percent: campaign.total ? Math.round((done / campaign.total) * 1000) / 10 : 100 },
    created_at: campaign.createdAt,
    updated_at: campaign.updatedAt,
  };
}

/** Never includes the secret; header values masked (the creation response alone shows them). */
export function presentWebhook(row: WebhookRow) {
  const filters = (row.filters ?? {}) as WebhookFilters;
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    whatsapp_session_id: row.whatsappSessionId,
    headers: maskHeaders(row.headers),
    filters: {
      ...(filters.chat_ids ? { chat_ids: filters.chat_ids } : {}),
      ...(filters.chat_types ? { chat_types: filters.chat_types } : {}),
      ...(filters.message_types ? { message_types: filters.message_types } : {}),
      ...(typeof filters.from_me === "boolean" ? { from_me: filters.from_me } : {}),
      ...(filters.settings_types ? { settings_types: filters.settings_types } : {}),
      ...(filters.mentions ? { mentions: filters.mentions } : {}),
    },
    enabled: row.enabled,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export function presentDelivery(row: DeliveryRow, attempts: AttemptRow[]) {
  return {
    id: row.id,
    webhook_id: row.webhookId,
    event_id: row.eventId,
    event_type: row.eventType,
    url: row.url,
    status: row.status,
    attempts: row.attempts,
    last_status_code: row.lastStatusCode,
    last_error: row.lastError,
    next_attempt_at: row.nextAttemptAt,
    delivered_at: row.deliveredAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    attempt_log: attempts.map((a) => ({
      attempt: a.attempt,
      status_code: a.statusCode,
      error: a.error,
      duration_ms: a.durationMs,
      created_at: a.createdAt,
    })),
  };
}
