import type { OutboxItem } from "../domain/outbox-item";
import { toTimestamp } from "../domain/time";
import type { CampaignRow, MessageRow } from "./messages.rows";

// The rows one accepted send becomes, built in one place for every sender (the API single and
// batch send, the auto-reply bot) and the outbox item each row is handed over as (also what
// reconciling rebuilds from D1). Pure: no I/O.

/** Who sends, and at what price per message (the account's message_cost at accept time). */
export interface Sender {
  accountId: string;
  /** sessions.id (uuid) and the number it sends from. */
  sessionId: string;
  fromNumber: string | null;
  cost: number;
}

/** One validated send; what is left out is null (pacing: 0, sent now). */
export interface SendSpec {
  type: OutboxItem["type"];
  content?: string | null;
  mediaUrl?: string | null;
  payload?: Record<string, unknown> | null;
  metadata?: Record<string, unknown> | null;
  idempotencyKey?: string | null;
  callbackUrl?: string | null;
  callbackData?: string | null;
  delayBetweenMs?: number;
  /** Epoch ms to hold the messages until; null sends now. */
  scheduledAtMs?: number | null;
}

export interface BuiltSend {
  campaign: CampaignRow;
  rows: MessageRow[];
  items: OutboxItem[];
}

/** A campaign and one row (and outbox item) per recipient, all created at `at`. */
export function buildSend(sender: Sender, spec: SendSpec, recipients: string[], at: string): BuiltSend {
  const scheduledAt = spec.scheduledAtMs == null ? null : toTimestamp(spec.scheduledAtMs);
  const delayBetween = spec.delayBetweenMs ?? 0;
  const campaign: CampaignRow = {
    id: crypto.randomUUID(),
    accountId: sender.accountId,
    whatsappSessionId: sender.sessionId,
    type: spec.type,
    total: recipients.length,
    delayBetween,
    scheduledAt,
    createdAt: at,
    updatedAt: at,
  };
  const rows: MessageRow[] = recipients.map((to) => ({
    id: crypto.randomUUID(),
    accountId: sender.accountId,
    whatsappSessionId: sender.sessionId,
    campaignId: campaign.id,
    otpId: null,
    providerMessageId: null,
    fromNumber: sender.fromNumber,
    toNumber: to,
    type: spec.type,
    content: spec.content ?? null,
    mediaUrl: spec.mediaUrl ?? null,
    payload: spec.payload ?? null,
    status: scheduledAt ? "scheduled" : "queued",
    direction: "outgoing",
    reason: null,
    cost: sender.cost,
    metadata: spec.metadata ?? null,
    idempotencyKey: spec.idempotencyKey ?? null,
    callbackUrl: spec.callbackUrl ?? null,
    callbackData: spec.callbackData ?? null,
    scheduledAt,
    sentAt: null,
    deliveredAt: null,
    readAt: null,
    createdAt: at,
    updatedAt: at,
    fromLid: null,
    chatLid: null,
  }));
  return { campaign, rows, items: rows.map((row) => outboxItemOf(row, delayBetween)) };
}

/** The outbox item of an accepted outgoing row; `delayBetweenMs` is its campaign's pacing. */
export function outboxItemOf(row: MessageRow, delayBetweenMs: number): OutboxItem {
  return {
    messageId: row.id,
    accountId: row.accountId,
    to: row.toNumber,
    type: row.type as OutboxItem["type"],
    content: row.content,
    mediaUrl: row.mediaUrl,
    payload: row.payload ?? null,
    campaignId: row.campaignId,
    delayBetweenMs,
    scheduledAt: row.scheduledAt ? Date.parse(row.scheduledAt) : null,
  };
}
