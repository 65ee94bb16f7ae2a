import { z } from "zod";
import { BotSettingsSchema, DEFAULT_BOT_SETTINGS } from "../domain/bot";
import { ok } from "./http";
import type { Api } from "./route";
import { loadSession } from "./session-lookup";
import { sessionStub } from "../platform/bindings";
import { SessionIdParams } from "./sessions.schemas";

// The per-session auto-reply bot. Settings live in the session object, next to the
// socket that uses them.

const BotEnvelope = z.object({ success: z.literal(true), bot: BotSettingsSchema });

export function registerBotRoutes(api: Api): void {
  const tags = ["Bot"];

  api.route({
    method: "get",
    path: "/v1/whatsapp/sessions/{id}/bot",
    summary: "The session's auto-reply bot settings (defaults, disabled, until set)",
    tags,
    auth: "account",
    params: SessionIdParams,
    responses: { 200: { description: "The bot settings", schema: BotEnvelope } },
    async handler({ env, auth, params }) {
      const row = await loadSession(env, auth.account.id, params.id);
      return ok({ bot: (await sessionStub(env, row.id).getBot()) ?? DEFAULT_BOT_SETTINGS });
    },
  });

  api.route({
    method: "put",
    path: "/v1/whatsapp/sessions/{id}/bot",
    summary: "Replace the session's auto-reply bot settings",
    description:
      "Omitted fields take their defaults. Replies use `{a|b}` spintax and the placeholders [name] (push name, else number), [number], [bot_name], [date] and [time] (bot time zone). Keyword rules are checked in order; the first match answers, else `default_message` when `actions.send_default_msg`. Replies are sent and charged like any message. Regex rules use RE2 syntax and run in linear time (no backreferences or lookaround). `chat_limits` stops reply loops (two bots answering each other): at most `max_replies` bot replies per chat within `window_minutes`, at least `min_interval_seconds` apart; messages beyond are recorded but not answered.",
    tags,
    auth: "account",
    params: SessionIdParams,
    body: BotSettingsSchema,
    responses: { 200: { description: "The stored settings", schema: BotEnvelope } },
    async handler({ env, auth, params, body }) {
      const row = await loadSession(env, auth.account.id, params.id);
      return ok({ bot: await sessionStub(env, row.id).putBot(body) });
    },
  });
}
