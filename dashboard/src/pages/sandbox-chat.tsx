import { useState } from "preact/hooks";
import { api } from "../lib/api";
import { useAction, usePoll } from "../lib/hooks";
import { Empty, ErrorLine, StatusLine, Time } from "../ui/status";

const mediaType = (mime: string) =>
  mime.startsWith("image/") ? "image" : mime.startsWith("video/") ? "video" : mime.startsWith("audio/") ? "audio" : "document";

function base64Of(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

const INBOX_SHOWN = 30;

/** Chat as a contact: a sandbox phone writes to a linked session and reads its own inbox. */
export function SandboxChat({ phones, sessions }: { phones: any[]; sessions: any[] }) {
  const [phone, setPhone] = useState("");
  const [to, setTo] = useState("");
  const [text, setText] = useState("");
  const [file, setFile] = useState<File>();
  const [status, busy, run] = useAction();
  const linked = sessions.filter((s) => s.status === "connected" && s.phone_number);
  const me = phone || phones[0]?.phone_number || "";
  const target = to || linked[0]?.phone_number || "";
  // The driver's inbox has no limit parameter: the page keeps only the newest INBOX_SHOWN.
  const inbox = usePoll(
    (signal) => (me ? api("GET", `/v1/sandbox/phones/${me}/inbox`, { signal }).then((a) => (a.messages as any[]).slice(-INBOX_SHOWN).reverse()) : Promise.resolve([])),
    [me],
    { intervalMs: 2000 },
  );

  const send = (e: Event) => {
    e.preventDefault();
    void run("Send as contact", async () => {
      const body: Record<string, unknown> = file
        ? { to: target, type: mediaType(file.type), base64: await base64Of(file), mimetype: file.type || "application/octet-stream", filename: file.name, ...(text ? { caption: text } : {}) }
        : { to: target, type: "text", text };
      await api("POST", `/v1/sandbox/phones/${me}/messages`, { body });
      setText("");
    });
  };

  const markRead = (ids: string[]) =>
    run("Mark as read", () => api("POST", `/v1/sandbox/phones/${me}/receipts`, { body: { ids, type: "read" } })).then(() => inbox.reload());
  const unread = (inbox.data ?? []).filter((m) => m.direction === "in" && !m.read_at).map((m) => m.id);

  return (
    <section class="card" aria-labelledby="chat-heading">
      <h2 id="chat-heading">Chat as a contact</h2>
      <form onSubmit={send} class="grid">
        <label>
          Chat as phone
          <select value={me} onChange={(e) => setPhone(e.currentTarget.value)}>
            {phones.map((p) => <option key={p.phone_number} value={p.phone_number}>{p.name} ({p.phone_number})</option>)}
          </select>
        </label>
        <label>
          To linked session
          <select value={target} onChange={(e) => setTo(e.currentTarget.value)}>
            {linked.length === 0 && <option value="">no connected sandbox session</option>}
            {linked.map((s) => <option key={s.id} value={s.phone_number}>{s.name ?? s.session_id} ({s.phone_number})</option>)}
          </select>
        </label>
        <label>
          Contact message
          <input value={text} onInput={(e) => setText(e.currentTarget.value)} required={!file} />
        </label>
        <label>
          Attach a file
          <input type="file" onChange={(e) => setFile(e.currentTarget.files?.[0])} />
        </label>
        <div class="actions">
          <button type="submit" disabled={busy || !me || !target}>Send as contact</button>
        </div>
      </form>
      <StatusLine text={status} />
      <h3>Inbox of {me || "—"}</h3>
      <p class="muted">The newest {INBOX_SHOWN} messages, both ways.</p>
      <ErrorLine text={inbox.error} />
      {unread.length > 0 && <button type="button" onClick={() => markRead(unread)}>Mark {unread.length} as read</button>}
      {inbox.data?.length === 0 && <Empty>Nothing yet.</Empty>}
      <ul class="inbox" aria-label="Phone inbox">
        {inbox.data?.map((m) => (
          <li key={`${m.direction}-${m.id}`} class={m.direction === "in" ? "in" : "out"}>
            <span class="muted">{m.direction === "in" ? `from ${m.from}` : `to ${m.to}`} · {m.type}</span>
            <div>{m.text ?? m.caption ?? m.file_name ?? ""}</div>
            <small>
              <Time value={m.timestamp} />
              {/* Both ways: what the session sent this phone, and the session's receipts for what the phone sent. */}
              {" "}· delivered <Time value={m.delivered_at} /> · read <Time value={m.read_at} />
            </small>
          </li>
        ))}
      </ul>
    </section>
  );
}
