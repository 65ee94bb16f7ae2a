import { findAccount } from "../db/accounts.repo";
import { database } from "../db/client";
import { payForSends } from "../db/ledger";
import { markBotOutcome } from "../db/messages.incoming";
import type { MessageRow } from "../db/messages.rows";
import { buildSend } from "../db/send-rows";
import { costOf } from "../domain/ledger";
import { BotSettingsSchema, MAX_CHAT_HISTORY_MS, MAX_REGEX_RULES, chatLimitReason, chatWindowStart, decide, regexRuleProblem, type BotSettings } from "../domain/bot";
import { planLimits } from "../domain/plans";
import { now } from "../domain/time";
import type { OutboxItem } from "../domain/outbox-item";
import { log } from "../platform/log";
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

// Replies older than any chat limit looks at are deleted at most this often (by the `at` index).
const PRUNE_EVERY_MS = 60 * 60_000;
// Reactions are stored as messages but are not something to answer.
const IGNORED_TYPES = new Set(["reaction"]);

export class AutoReply {
  // The stored settings as last parsed: a message batch re-reads the text but parses (and compiles
  // the regex rules) only when it changed, so the compiled rules live as long as the settings.
  private cached: { text: string; value: BotSettings | null } | null = null;
  private prunedAt = 0;

  /** Over the session object's SQLite, once its schema ran (session.schema.ts). */
  constructor(
    private readonly env: Env,
    private readonly sql: SqlStorage,
  ) {}

  get(): BotSettings | null {
    const row = this.sql.exec<{ settings: string }>("SELECT settings FROM bot_settings WHERE id = 1").toArray()[0];
    if (!row) return null;
    if (this.cached?.text !== row.settings) this.cached = this.parse(row.settings);
    return this.cached.value;
  }

  private parse(text: string): { text: string; value: BotSettings | null } {
    // Parsed again so fields added to the schema later get their defaults.
    const stored = JSON.parse(text) as { keywords?: { match?: string; pattern?: string; case_sensitive?: boolean }[] };
    let parsed = BotSettingsSchema.safeParse(stored);
    if (!parsed.success && Array.isArray(stored.keywords)) {
      // Regex rules stored for the former (JavaScript) engine that RE2 cannot run, or more than
      // the cap: drop those rules, keep the bot, and store the result so this happens once.
      let regex = 0;
      const keywords = stored.keywords.filter(
        (k) => k.match !== "regex" || (regexRuleProblem(String(k.pattern), k.case_sensitive === true) === null && ++regex <= MAX_REGEX_RULES),
      );
      parsed = BotSettingsSchema.safeParse({ ...stored, keywords });
      if (parsed.success) {
        log.warn({ dropped: stored.keywords.length - keywords.length }, "stored bot rules RE2 cannot run were dropped");
        return this.store(parsed.data);
      }
    }
    if (parsed.success) return { text, value: parsed.data };
    log.error({ issues: parsed.error.issues.length }, "stored bot settings no longer valid; bot off");
    return { text, value: null };
  }

  put(settings: BotSettings): BotSettings {
    this.store(settings);
    return settings;
  }

  private store(settings: BotSettings): { text: string; value: BotSettings } {
    const text = JSON.stringify(settings);
    this.sql.exec(
      "INSERT INTO bot_settings (id, settings, updated_at) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
      text,
      Date.now(),
    );
    const stored = { text, value: settings };
    this.cached = stored;
    return stored;
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
      // No number for a sender known only by its LID (templates get none; the reply goes to its chat).
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
      // A group is answered in the group; a contact in the contact's chat (by LID when no number is known).
      const to = m.isGroup || !m.row.fromNumber ? m.chat : from;
      const slot = this.reserveReply(settings, to);
      if (typeof slot === "string") {
        await this.record(m, { replied: false, reason: slot });
        continue;
      }
      const result = await this.accept(config, to, decision.text, ownPhone, { bot: true, in_reply_to: m.row.id, webhook: settings.actions.send_webhook }).catch(
        (err: unknown) => {
          this.sql.exec("DELETE FROM bot_replies WHERE rowid = ?", slot);
          throw err;
        },
      );
      if ("item" in result) {
        enqueue(result.item);
        accepted++;
        await this.record(m, { replied: true, reply_id: result.item.messageId });
      } else {
        this.sql.exec("DELETE FROM bot_replies WHERE rowid = ?", slot);
        log.warn({ session: config.id, message: m.row.id, reason: result.reason }, "bot reply not sent");
        await this.record(m, { replied: false, reason: result.reason });
      }
    }
    return accepted;
  }

  /**
   * Checks the chat limits and records a reply in `chat` now (its rowid), or says why not.
   * Synchronous, so two messages handled at once cannot both take the last slot.
   */
  private reserveReply(settings: BotSettings, chat: string): number | "reply_limit" | "cooldown" {
    const at = Date.now();
    if (at - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = at;
      this.sql.exec("DELETE FROM bot_replies WHERE at < ?", at - MAX_CHAT_HISTORY_MS);
    }
    // Both served by the (chat, at) index: a range count within the window and one max lookup.
    const history = this.sql
      .exec<{ inWindow: number; lastAt: number | null }>(
        "SELECT (SELECT count(*) FROM bot_replies WHERE chat = ?1 AND at > ?2) AS inWindow, (SELECT max(at) FROM bot_replies WHERE chat = ?1) AS lastAt",
        chat,
        chatWindowStart(settings.chat_limits, at),
      )
      .one();
    const refused = chatLimitReason(settings.chat_limits, history, at);
    if (refused) return refused;
    return this.sql.exec<{ id: number }>("INSERT INTO bot_replies (chat, at) VALUES (?, ?) RETURNING rowid AS id", chat, at).one().id;
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
    const account = await findAccount(db, config.accountId);
    if (!account) return { reason: "account_not_found" };
    const sender = { accountId: account.id, sessionId: config.id, fromNumber: ownPhone, cost: account.messageCost };
    const built = buildSend(sender, { type: "text", content: text, metadata }, [to], now());
    const result = await payForSends(db, {
      accountId: account.id,
      messageCost: account.messageCost,
      totalCost: costOf(1, account.messageCost),
      count: 1,
      dailyLimit: planLimits(account.plan, this.env.PLANS).daily_messages,
      sends: [{ campaign: built.campaign, messages: built.rows }],
    });
    return result.accepted ? { item: built.items[0] } : { reason: result.reason };
  }
}
