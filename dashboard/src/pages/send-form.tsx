import { useState } from "preact/hooks";
import { api } from "../lib/api";
import { MEDIA_TYPES, MESSAGE_TYPES as TYPES } from "../lib/domain";
import { useAction } from "../lib/hooks";
import { StatusLine } from "../ui/status";

type Kind = (typeof TYPES)[number];
const MEDIA = new Set<string>(MEDIA_TYPES);

interface SendAnswer {
  count: number;
  total_cost: number;
  new_balance: number;
  remaining_messages: number;
  campaign_id: string;
}

const lines = (text: string) => text.split(/[\n,;]+/).map((s) => s.trim()).filter(Boolean);

/** Every message type of POST /v1/whatsapp/messages, with the answer's cost and balance shown. */
export function SendForm({ sessionId, onSent }: { sessionId: string; onSent: () => void }) {
  const [type, setType] = useState<Kind>("text");
  const [f, setF] = useState<Record<string, string>>({ delay_between: "500" });
  const [ptt, setPtt] = useState(false);
  const [status, busy, run] = useAction();
  const [answer, setAnswer] = useState<SendAnswer>();
  const field = (name: string) => ({ value: f[name] ?? "", onInput: (e: Event) => setF({ ...f, [name]: (e.currentTarget as HTMLInputElement).value }) });

  const body = (): Record<string, unknown> => {
    const b: Record<string, unknown> = { whatsapp_session_id: sessionId, to_number: lines(f.to ?? ""), type };
    if (f.delay_between) b.delay_between = Number(f.delay_between);
    if (f.scheduled_at) b.scheduled_at = new Date(f.scheduled_at).toISOString();
    if (f.content && (type === "text" || MEDIA.has(type))) b.content = f.content;
    if (MEDIA.has(type)) b.media_url = f.media_url;
    if (type === "document" && f.filename) b.filename = f.filename;
    if (type === "audio" && ptt) b.ptt = true;
    if (type === "location") b.location = { latitude: Number(f.latitude), longitude: Number(f.longitude), ...(f.place ? { name: f.place } : {}), ...(f.address ? { address: f.address } : {}) };
    if (type === "contacts") b.contacts = [{ name: { formatted_name: f.contact_name }, phones: [{ phone: f.contact_phone, type: "CELL" }] }];
    if (type === "poll") b.poll = { name: f.poll_name, options: lines(f.poll_options ?? ""), selectable_count: Number(f.selectable_count || 1) };
    if (type === "reaction") b.reaction = { message_id: f.reaction_id, emoji: f.emoji };
    if (f.reply_to) b.reply_to = f.reply_to;
    return b;
  };

  const send = (e: Event) => {
    e.preventDefault();
    setAnswer(undefined);
    void run("Send", async () => {
      const result = await api("POST", "/v1/whatsapp/messages", { body: body() });
      setAnswer(result.data);
      onSent();
      return `${result.message}.`;
    });
  };

  return (
    <form class="card" onSubmit={send} aria-labelledby="send-heading">
      <h2 id="send-heading">Send a message</h2>
      <div class="grid">
        <label>
          Recipients
          <textarea required rows={2} {...field("to")} placeholder="+2290197000001, +2290197000002" aria-describedby="to-hint" />
          <small id="to-hint">Phone numbers or group ids, separated by commas or new lines.</small>
        </label>
        <label>
          Message type
          <select value={type} onChange={(e) => setType(e.currentTarget.value as Kind)}>
            {TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
        </label>
        {(type === "text" || MEDIA.has(type)) && (
          <label>
            {type === "text" ? "Message text" : "Caption"}
            <textarea rows={3} required={type === "text"} {...field("content")} />
          </label>
        )}
        {MEDIA.has(type) && (
          <label>
            Media URL
            <input type="url" required {...field("media_url")} placeholder="https://example.com/photo.jpg" />
          </label>
        )}
        {type === "document" && <label>File name<input {...field("filename")} /></label>}
        {type === "audio" && (
          <label class="check">
            <input type="checkbox" checked={ptt} onChange={(e) => setPtt(e.currentTarget.checked)} /> Voice note (ptt)
          </label>
        )}
        {type === "location" && (
          <>
            <label>Latitude<input type="number" step="any" min={-90} max={90} required {...field("latitude")} /></label>
            <label>Longitude<input type="number" step="any" min={-180} max={180} required {...field("longitude")} /></label>
            <label>Place name<input {...field("place")} /></label>
            <label>Address<input {...field("address")} /></label>
          </>
        )}
        {type === "contacts" && (
          <>
            <label>Contact name<input required {...field("contact_name")} /></label>
            <label>Contact phone<input type="tel" required {...field("contact_phone")} /></label>
          </>
        )}
        {type === "poll" && (
          <>
            <label>Poll question<input required {...field("poll_name")} /></label>
            <label>Poll options<textarea required rows={3} {...field("poll_options")} placeholder="One option per line" /></label>
            <label>Selectable options<input type="number" min={1} {...field("selectable_count")} /></label>
          </>
        )}
        {type === "reaction" && (
          <>
            <label>Message id to react to<input required {...field("reaction_id")} /></label>
            <label>Emoji<input required {...field("emoji")} /></label>
          </>
        )}
        {type !== "reaction" && <label>Reply to message id<input {...field("reply_to")} /></label>}
        <label>
          Delay between sends (ms)
          <input type="number" min={0} max={60000} {...field("delay_between")} />
        </label>
        <label>
          Scheduled at
          <input type="datetime-local" {...field("scheduled_at")} />
        </label>
      </div>
      <button type="submit" disabled={busy}>Send message</button>
      <StatusLine text={status} />
      {answer && (
        <dl class="facts" aria-label="Send result">
          <dt>Count</dt>
          <dd>{answer.count}</dd>
          <dt>Total cost</dt>
          <dd>{answer.total_cost}</dd>
          <dt>New balance</dt>
          <dd>{answer.new_balance}</dd>
          <dt>Remaining messages</dt>
          <dd>{answer.remaining_messages}</dd>
          <dt>Campaign</dt>
          <dd>
            <a href={`#/messages/campaign/${answer.campaign_id}`}>{answer.campaign_id}</a>
          </dd>
        </dl>
      )}
    </form>
  );
}
