import { findAccount } from "../db/accounts.repo";
import { database } from "../db/client";
import { acceptSends, markBotOutcome, type CampaignRow, type MessageRow } from "../db/messages.repo";
import { BotSettingsSchema, decide, type BotSettings } from "../domain/bot";
import { planLimits } from "../domain/plans";
import { now, utcDay } from "../domain/time";
import type { OutboxItem } from "./outbox.types";
import type { SessionConfig } from "./session.types";

// The session's auto-reply bot: its settings in the object's SQLite, and replies accepted like
// any API send (debit, daily limit, campaign and row in one D1 batch) before they enter the
// outbox directly; the send queue is not needed inside the object that sends.

/** An incoming message as stored, with what the bot needs to decide. */
export interface ReceivedMessage {
  row: MessageRow;
  /** Chat JID: the contact's, or the group's. */
  chat: string;
  isGroup: boolean;
  pushName: string | null;
  /** Delivered while the session was offline (Baileys upsert `append`). */
  offline: boolean;
}

const MAX_CONTENDED_ATTEMPTS = 3;
// Reactions are stored as messages but are not something to answer.
const IGNORED_TYPES = new Set(["reaction"]);

export class AutoReply {
  constructor(
    private readonly env: Env,
    private readonly sql: SqlStorage,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS bot_settings (id INTEGER PRIMARY KEY CHECK (id = 1), settings TEXT NOT NULL, updated_at INTEGER NOT NULL)");
  }

  get(): BotSettings | null {
    const row = this.sql.exec<{ settings: string }>("SELECT settings FROM bot_settings WHERE id = 1").toArray()[0];
    if (!row) return null;
    // Parsed again so fields added to the schema later get their defaults.
    const parsed = BotSettingsSchema.safeParse(JSON.parse(row.settings));
    if (parsed.success) return parsed.data;
    console.error(JSON.stringify({ msg: "stored bot settings no longer valid; bot off", issues: parsed.error.issues.length }));
    return null;
  }

  put(settings: BotSettings): BotSettings {
    this.sql.exec(
      "INSERT INTO bot_settings (id, settings, updated_at) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
      JSON.stringify(settings),
      Date.now(),
    );
    return settings;
  }

  /**
   * Accepts the bot's replies to these messages and hands each to `enqueue` as soon as it is
   * paid for, so a later failure cannot strand an accepted reply. None when the bot is off or
   * the account cannot pay. Returns how many were accepted.
   */
  async replies(config: SessionConfig, received: ReceivedMessage[], ownPhone: string | null, enqueue: (item: OutboxItem) => void): Promise<number> {
    const settings = this.get();
    if (!settings?.enabled) return 0;
    let accepted = 0;
    for (const m of received) {
      if (IGNORED_TYPES.has(m.row.type)) continue;
      const from = m.row.fromNumber ?? "";
      const decision = decide(
        settings,
        { text: m.row.content, isGroup: m.isGroup, fromMe: false, chatUnread: m.offline, pushName: m.pushName, from },
        new Date(),
        Math.random,
      );
      if (!("text" in decision)) {
        await this.record(m, { replied: false, reason: decision.skipped });
        continue;
      }
      // A group is answered in the group; a contact in the contact's chat.
      const to = m.isGroup ? m.chat : from;
      const result = await this.accept(config, to, decision.text, ownPhone, { bot: true, in_reply_to: m.row.id, webhook: settings.actions.send_webhook });
      if ("item" in result) {
        enqueue(result.item);
        accepted++;
        await this.record(m, { replied: true, reply_id: result.item.messageId });
      } else {
        console.warn(JSON.stringify({ msg: "bot reply not sent", session: config.id, message: m.row.id, reason: result.reason }));
        await this.record(m, { replied: false, reason: result.reason });
      }
    }
    return accepted;
  }

  /** On the incoming row, why the bot did or did not answer: visible when debugging, and a barrier for tests. */
  private async record(m: ReceivedMessage, outcome: Record<string, unknown>): Promise<void> {
    await markBotOutcome(database(this.env), m.row.id, outcome);
  }

  private async accept(
    config: SessionConfig,
    to: string,
    text: string,
    ownPhone: string | null,
    metadata: Record<string, unknown>,
  ): Promise<{ item: OutboxItem } | { reason: string }> {
    const db = database(this.env);
    for (let attempt = 1; attempt <= MAX_CONTENDED_ATTEMPTS; attempt++) {
      const account = await findAccount(db, config.accountId);
      if (!account) return { reason: "account_not_found" };
      const at = now();
      const campaign: CampaignRow = {
        id: crypto.randomUUID(),
        accountId: account.id,
        whatsappSessionId: config.id,
        type: "text",
        total: 1,
        delayBetween: 0,
        scheduledAt: null,
        createdAt: at,
        updatedAt: at,
      };
      const row: MessageRow = {
        id: crypto.randomUUID(),
        accountId: account.id,
        whatsappSessionId: config.id,
        campaignId: campaign.id,
        otpId: null,
        providerMessageId: null,
        fromNumber: ownPhone,
        toNumber: to,
        type: "text",
        content: text,
        mediaUrl: null,
        payload: null,
        status: "queued",
        direction: "outgoing",
        reason: null,
        cost: account.messageCost,
        metadata,
        idempotencyKey: null,
        callbackUrl: null,
        callbackData: null,
        scheduledAt: null,
        sentAt: null,
        deliveredAt: null,
        readAt: null,
        createdAt: at,
        updatedAt: at,
      };
      const result = await acceptSends(db, {
        accountId: account.id,
        messageCost: account.messageCost,
        totalCost: account.messageCost,
        count: 1,
        day: utcDay(),
        dailyLimit: planLimits(account.plan, this.env.PLANS).daily_messages,
        sends: [{ campaign, messages: [row] }],
      });
      if (result.accepted) {
        const item: OutboxItem = { messageId: row.id, accountId: account.id, to, type: "text", content: text, mediaUrl: null, payload: null, campaignId: campaign.id, delayBetweenMs: 0, scheduledAt: null };
        return { item };
      }
      if (result.reason !== "contended") return { reason: result.reason };
    }
    return { reason: "contended" };
  }
}
