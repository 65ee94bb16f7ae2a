import { useState } from "preact/hooks";
import { api } from "../lib/api";
import { CHAT_TYPES, WEBHOOK_EVENTS as EVENTS } from "../lib/domain";
import { parseHeaderLines } from "../lib/header-lines";
import { useAction, usePoll } from "../lib/hooks";
import { Empty, ErrorLine, SecretOnce, StatusLine } from "../ui/status";
import { Deliveries } from "./webhook-deliveries";

export function WebhooksPage() {
  const list = usePoll((signal) => api("GET", "/v1/whatsapp/webhooks", { signal }).then((a) => a.webhooks as any[]), []);
  return (
    <>
      <h1 tabIndex={-1}>Webhooks</h1>
      <CreateWebhook onCreated={() => void list.reload()} />
      <section aria-labelledby="webhooks-list">
        <h2 id="webhooks-list">Your webhooks</h2>
        <ErrorLine text={list.error} />
        {list.data?.length === 0 && <Empty>No webhook yet.</Empty>}
        {list.data?.map((w) => <WebhookCard key={w.id} webhook={w} onDeleted={() => void list.reload()} />)}
      </section>
    </>
  );
}

function CreateWebhook({ onCreated }: { onCreated: () => void }) {
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<string[]>(["message.received", "message.delivered", "session.status"]);
  const [session, setSession] = useState("");
  const [chatTypes, setChatTypes] = useState<string[]>([]);
  const [messageTypes, setMessageTypes] = useState("");
  const [fromMe, setFromMe] = useState("");
  const [headers, setHeaders] = useState("");
  const [status, busy, run] = useAction();
  const [secret, setSecret] = useState<string>();
  const toggle = (list: string[], value: string, on: boolean) => (on ? [...list, value] : list.filter((v) => v !== value));

  const create = (e: Event) => {
    e.preventDefault();
    setSecret(undefined);
    void run("Create webhook", async () => {
      const filters: Record<string, unknown> = {};
      if (chatTypes.length) filters.chat_types = chatTypes;
      const types = messageTypes.split(/[\s,]+/).filter(Boolean);
      if (types.length) filters.message_types = types;
      if (fromMe) filters.from_me = fromMe === "true";
      const body: Record<string, unknown> = { url: url.trim(), events, filters, headers: parseHeaderLines(headers) };
      if (session.trim()) body.whatsapp_session_id = session.trim();
      const answer = await api("POST", "/v1/whatsapp/webhooks", { body });
      setSecret(answer.webhook.secret);
      onCreated();
      return "Webhook created.";
    });
  };

  return (
    <form class="card" onSubmit={create} aria-labelledby="new-webhook">
      <h2 id="new-webhook">New webhook</h2>
      <div class="grid">
        <label>Webhook URL<input type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} placeholder="https://example.com/wa-events" /></label>
        <label>Only for session (id)<input value={session} onInput={(e) => setSession(e.currentTarget.value)} placeholder="all sessions" /></label>
      </div>
      <fieldset>
        <legend>Events</legend>
        {EVENTS.map((ev) => (
          <label class="check" key={ev}>
            <input type="checkbox" checked={events.includes(ev)} onChange={(e) => setEvents(toggle(events, ev, e.currentTarget.checked))} /> {ev}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Filters</legend>
        {CHAT_TYPES.map((t) => (
          <label class="check" key={t}>
            <input type="checkbox" checked={chatTypes.includes(t)} onChange={(e) => setChatTypes(toggle(chatTypes, t, e.currentTarget.checked))} /> {t} chats
          </label>
        ))}
        <div class="grid">
          <label>Message types<input value={messageTypes} onInput={(e) => setMessageTypes(e.currentTarget.value)} placeholder="text, image" /></label>
          <label>
            Sent by
            <select value={fromMe} onChange={(e) => setFromMe(e.currentTarget.value)}>
              <option value="">anyone</option>
              <option value="false">contacts only (received)</option>
              <option value="true">this session only (sent)</option>
            </select>
          </label>
        </div>
      </fieldset>
      <label>
        Custom headers
        <textarea class="mono" rows={2} value={headers} onInput={(e) => setHeaders(e.currentTarget.value)} placeholder="X-Api-Key: my-receiver-key" />
      </label>
      <button type="submit" disabled={busy}>Create webhook</button>
      <StatusLine text={status} />
      {secret && <SecretOnce label="Signing secret" value={secret} />}
    </form>
  );
}

function WebhookCard({ webhook, onDeleted }: { webhook: any; onDeleted: () => void }) {
  const [status, busy, run] = useAction();
  const [open, setOpen] = useState(false);
  const [tick, setTick] = useState(0);
  const path = `/v1/whatsapp/webhooks/${webhook.id}`;
  return (
    <article class="card" aria-label={`Webhook ${webhook.url}`}>
      <h3>{webhook.url}</h3>
      <p class="muted">
        {webhook.enabled ? "enabled" : "disabled"} · {webhook.events.join(", ")}
        {Object.keys(webhook.headers ?? {}).length > 0 && ` · headers: ${Object.keys(webhook.headers).join(", ")}`}
      </p>
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => run("Test ping", () => api("POST", `${path}/test`)).then(() => { setOpen(true); setTick(tick + 1); })}>
          Send test ping
        </button>
        <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? "Hide deliveries" : "Show deliveries"}
        </button>
        <button type="button" class="danger" disabled={busy} onClick={() => run("Delete webhook", () => api("DELETE", path)).then((ok) => ok && onDeleted())}>
          Delete webhook
        </button>
      </div>
      <StatusLine text={status} />
      {open && <Deliveries webhookId={webhook.id} refresh={tick} />}
    </article>
  );
}
