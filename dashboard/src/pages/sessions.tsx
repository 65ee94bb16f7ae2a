import { useState } from "preact/hooks";
import { useChangeAnnouncer } from "../lib/announce";
import { api } from "../lib/api";
import { useAction, usePoll } from "../lib/hooks";
import { navigate } from "../lib/router";
import { Badge, Empty, ErrorLine, StatusLine, Time } from "../ui/status";
import { Table, type Column } from "../ui/table";

const COLUMNS: Column<any>[] = [
  { header: "Name", cell: (s) => <a href={`#/sessions/${s.id}`}>{s.name ?? s.session_id}</a> },
  { header: "Status", cell: (s) => <><Badge value={s.status} /> {s.reason && <span class="muted">{s.reason}</span>}</> },
  { header: "Phone", cell: (s) => (s.phone_number ? `${s.phone_number} (${s.display_name})` : <span class="muted">—</span>) },
  { header: "Kind", cell: (s) => (s.sandbox ? "sandbox" : "WhatsApp") },
  { header: "Created", cell: (s) => <Time value={s.created_at} /> },
];

/** Sessions, refreshed every few seconds so statuses stay live. */
export function SessionsPage() {
  const list = usePoll((signal) => api("GET", "/v1/whatsapp/sessions", { signal }).then((a) => a.sessions as any[]), [], { intervalMs: 3000 });
  const changes = useChangeAnnouncer(list.data, (s) => s.id, (s) => s.status, (s) => s.name ?? s.session_id);
  return (
    <>
      <h1 tabIndex={-1}>Sessions</h1>
      <p class="sr-only" role="status" aria-live="polite">{changes}</p>
      <CreateSession />
      <section aria-labelledby="sessions-list">
        <h2 id="sessions-list">Your sessions</h2>
        <ErrorLine text={list.error} />
        {list.data?.length === 0 && <Empty>No session yet: create one above.</Empty>}
        {list.data && list.data.length > 0 && <Table rows={list.data} columns={COLUMNS} rowKey={(s) => s.id} />}
      </section>
    </>
  );
}

function CreateSession() {
  const [name, setName] = useState("");
  const [sandbox, setSandbox] = useState(true);
  const [mode, setMode] = useState("");
  const [status, busy, run] = useAction();

  const create = (e: Event) => {
    e.preventDefault();
    void run("Create session", async () => {
      const body: Record<string, unknown> = { sandbox };
      if (name.trim()) body.name = name.trim();
      if (mode) body.connection_mode = mode;
      const answer = await api("POST", "/v1/whatsapp/sessions", { body });
      navigate(`/sessions/${answer.session.id}`);
    });
  };

  return (
    <form class="card inline-form" onSubmit={create}>
      <h2>New session</h2>
      <label>
        Session name
        <input maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="Support line" />
      </label>
      <label class="check">
        <input type="checkbox" checked={sandbox} onChange={(e) => setSandbox(e.currentTarget.checked)} />
        Sandbox WhatsApp (no phone needed)
      </label>
      <label>
        Connection mode
        <select value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
          <option value="">default</option>
          <option value="persistent">persistent</option>
          <option value="on_demand">on demand</option>
        </select>
      </label>
      <button type="submit" disabled={busy}>Create session</button>
      <StatusLine text={status} />
    </form>
  );
}
