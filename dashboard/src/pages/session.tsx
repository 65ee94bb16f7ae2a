import { useState } from "preact/hooks";
import { api } from "../lib/api";
import { useAction, usePoll } from "../lib/hooks";
import { navigate } from "../lib/router";
import { MessageTable } from "../ui/message-table";
import { Badge, ErrorLine, StatusLine, Time } from "../ui/status";
import { BotForm } from "./bot-form";
import { LinkPanel } from "./link-panel";
import { SendForm } from "./send-form";

export function SessionPage({ id }: { id: string }) {
  const path = `/v1/whatsapp/sessions/${encodeURIComponent(id)}`;
  const session = usePoll((signal) => api("GET", path, { signal }).then((a) => a.session), [id], { intervalMs: 5000 });
  const recent = usePoll(
    (signal) => api("GET", `/v1/whatsapp/messages/${encodeURIComponent(id)}/session?limit=10`, { signal }).then((a) => a.data as any[]),
    [id],
    { intervalMs: 3000 },
  );
  const [status, busy, run] = useAction();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const s = session.data;

  const act = (label: string, method: string, suffix: string) =>
    run(label, () => api(method, `${path}${suffix}`)).then(() => session.reload());

  return (
    <>
      <p>
        <a href="#/sessions">← All sessions</a>
      </p>
      <h1 tabIndex={-1}>Session {s ? (s.name ?? s.session_id) : ""}</h1>
      <ErrorLine text={session.error} />
      {s && (
        <>
          <dl class="facts">
            <dt>Status</dt>
            {/* A live region: a screen reader hears the session connect or drop. */}
            <dd>
              <span role="status" aria-live="polite">
                <Badge value={s.status} /> {s.reason && <span class="muted">{s.reason}</span>}
              </span>
            </dd>
            <dt>Phone</dt>
            <dd>{s.phone_number ? `${s.phone_number} (${s.display_name})` : "—"}</dd>
            <dt>Session id</dt>
            <dd>
              <code>{s.session_id}</code>
            </dd>
            <dt>Kind</dt>
            <dd>{s.sandbox ? "sandbox" : "WhatsApp"}, {s.connection_mode}</dd>
            <dt>Last seen</dt>
            <dd>
              <Time value={s.last_seen_at} />
            </dd>
          </dl>
          <div class="actions" role="group" aria-label="Session actions">
            <button type="button" disabled={busy} onClick={() => act("Disconnect", "PATCH", "/disconnect")}>Disconnect</button>
            <button type="button" disabled={busy} onClick={() => act("Reconnect", "PATCH", "/reconnect")}>Reconnect</button>
            <button type="button" disabled={busy} onClick={() => act("Log out", "POST", "/logout")}>Log out</button>
            {confirmDelete ? (
              <>
                <button type="button" class="danger" disabled={busy} onClick={() => run("Delete session", () => api("DELETE", path)).then((ok) => ok && navigate("/sessions"))}>
                  Confirm delete
                </button>
                <button type="button" class="secondary" onClick={() => setConfirmDelete(false)}>Cancel</button>
              </>
            ) : (
              <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>Delete</button>
            )}
          </div>
          <StatusLine text={status} />
          {/* Keyed on the session alone: a status poll must not remount it (and lose a pairing code). */}
          {s.status === "pending" && <LinkPanel key={s.id} sessionId={s.id} sandbox={s.sandbox} onChange={() => void session.reload()} />}
          <SendForm sessionId={s.id} onSent={() => void recent.reload()} />
          <section class="card" aria-labelledby="recent-heading">
            <h2 id="recent-heading">Recent messages</h2>
            <ErrorLine text={recent.error} />
            {recent.data && <MessageTable messages={recent.data} />}
          </section>
          <BotForm sessionId={s.id} />
        </>
      )}
    </>
  );
}
