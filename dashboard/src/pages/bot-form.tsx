import { useEffect, useState } from "preact/hooks";
import { api, describeError } from "../lib/api";
import { useAction } from "../lib/hooks";
import { StatusLine } from "../ui/status";

const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const ACTIONS: [string, string][] = [
  ["send_default_msg", "Send the default message when no keyword matches"],
  ["reply_msgs", "Reply to keywords"],
  ["reply_group_msgs", "Reply in groups"],
  ["reply_unread_msgs", "Reply to messages received while offline"],
  ["send_webhook", "Raise webhook events for bot replies"],
];

/** The auto-reply bot: GET answers the defaults until a PUT replaces them. */
export function BotForm({ sessionId }: { sessionId: string }) {
  const path = `/v1/whatsapp/sessions/${encodeURIComponent(sessionId)}/bot`;
  const [bot, setBot] = useState<any>();
  const [keywords, setKeywords] = useState("");
  const [loadError, setLoadError] = useState("");
  const [status, busy, run] = useAction();

  useEffect(() => {
    api("GET", path)
      .then((a) => {
        setBot(a.bot);
        setKeywords(JSON.stringify(a.bot.keywords, null, 2));
      })
      .catch((e) => setLoadError(`Loading the bot failed: ${describeError(e)}`));
  }, [path]);

  if (!bot) return <StatusLine text={loadError} />;
  const set = (patch: Record<string, unknown>) => setBot({ ...bot, ...patch });
  const hours = bot.active_hours ?? { from: "always", to: "always" };

  const save = (e: Event) => {
    e.preventDefault();
    void run("Save bot", async () => {
      const answer = await api("PUT", path, { body: { ...bot, keywords: JSON.parse(keywords || "[]") } });
      setBot(answer.bot);
      return "Bot settings saved.";
    });
  };

  return (
    <form class="card" onSubmit={save} aria-labelledby="bot-heading">
      <h2 id="bot-heading">Auto-reply bot</h2>
      <label class="check">
        <input type="checkbox" checked={bot.enabled} onChange={(e) => set({ enabled: e.currentTarget.checked })} /> Bot enabled
      </label>
      <div class="grid">
        <label>Bot name<input value={bot.name} onInput={(e) => set({ name: e.currentTarget.value })} /></label>
        <label>Time zone<input value={bot.timezone} onInput={(e) => set({ timezone: e.currentTarget.value })} /></label>
        <label>Language<input value={bot.language} onInput={(e) => set({ language: e.currentTarget.value })} /></label>
        <label>Active from<input value={hours.from} onInput={(e) => set({ active_hours: { ...hours, from: e.currentTarget.value } })} placeholder="08:00 or always" /></label>
        <label>Active to<input value={hours.to} onInput={(e) => set({ active_hours: { ...hours, to: e.currentTarget.value } })} placeholder="18:00 or always" /></label>
      </div>
      <label>
        Default message
        <textarea rows={2} value={bot.default_message} onInput={(e) => set({ default_message: e.currentTarget.value })} />
      </label>
      <fieldset>
        <legend>Actions</legend>
        {ACTIONS.map(([key, label]) => (
          <label class="check" key={key}>
            <input type="checkbox" checked={bot.actions[key]} onChange={(e) => set({ actions: { ...bot.actions, [key]: e.currentTarget.checked } })} /> {label}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Active days</legend>
        {DAYS.map((day) => (
          <label class="check" key={day}>
            <input type="checkbox" checked={bot.active_days[day]} onChange={(e) => set({ active_days: { ...bot.active_days, [day]: e.currentTarget.checked } })} /> {day}
          </label>
        ))}
      </fieldset>
      <label>
        Keywords (JSON list of {"{match, pattern, reply}"})
        <textarea class="mono" rows={5} value={keywords} onInput={(e) => setKeywords(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={busy}>Save bot</button>
      <StatusLine text={status} />
    </form>
  );
}
