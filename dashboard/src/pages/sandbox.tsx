import { useState } from "preact/hooks";
import { api } from "../lib/api";
import { useAction, usePoll } from "../lib/hooks";
import { Badge, Empty, ErrorLine, StatusLine } from "../ui/status";
import { SandboxChat } from "./sandbox-chat";
import { SandboxFaults } from "./sandbox-faults";
import { SandboxPairing } from "./sandbox-pairing";

/** The sandbox WhatsApp: simulated phones that scan sessions, chat with them, and break them. */
export function SandboxPage() {
  const phones = usePoll((signal) => api("GET", "/v1/sandbox/phones", { signal }).then((a) => a.phones as any[]), [], { intervalMs: 3000 });
  const sessions = usePoll(
    (signal) => api("GET", "/v1/whatsapp/sessions", { signal }).then((a) => (a.sessions as any[]).filter((s) => s.sandbox)),
    [],
    { intervalMs: 3000 },
  );
  return (
    <>
      <h1 tabIndex={-1}>Sandbox playground</h1>
      <ErrorLine text={phones.error ?? sessions.error} />
      <div class="cards">
        <CreatePhone onCreated={() => void phones.reload()} />
        <LinkSession phones={phones.data ?? []} sessions={sessions.data ?? []} onLinked={() => { void phones.reload(); void sessions.reload(); }} />
        <SandboxPairing phones={phones.data ?? []} />
      </div>
      <section aria-labelledby="phones-list">
        <h2 id="phones-list">Phones</h2>
        {phones.data?.length === 0 && <Empty>No phone yet: create one above.</Empty>}
        <ul class="phones">
          {phones.data?.map((p) => (
            <li key={p.phone_number}>
              <strong>{p.name}</strong> <code>{p.phone_number}</code> {p.banned && <Badge value="banned" />}{" "}
              <span class="muted">
                {p.linked_devices.length ? `linked devices: ${p.linked_devices.map((d: any) => `#${d.device}`).join(", ")}` : "no linked device"}
              </span>
            </li>
          ))}
        </ul>
      </section>
      <SandboxChat phones={phones.data ?? []} sessions={sessions.data ?? []} />
      <SandboxFaults sessions={sessions.data ?? []} />
    </>
  );
}

function CreatePhone({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const [number, setNumber] = useState("");
  const [status, busy, run] = useAction();
  const create = (e: Event) => {
    e.preventDefault();
    void run("Create phone", async () => {
      const body: Record<string, unknown> = {};
      if (name.trim()) body.name = name.trim();
      if (number.trim()) body.phone_number = number.trim();
      const answer = await api("POST", "/v1/sandbox/phones", { body });
      setName("");
      setNumber("");
      onCreated();
      return `Phone ${answer.phone.name} (${answer.phone.phone_number}) created.`;
    });
  };
  return (
    <form class="card" onSubmit={create}>
      <h2>New phone</h2>
      <label>Phone name<input maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="Alice" /></label>
      <label>Phone number (optional)<input value={number} onInput={(e) => setNumber(e.currentTarget.value)} placeholder="random" /></label>
      <button type="submit" disabled={busy}>Create phone</button>
      <StatusLine text={status} />
    </form>
  );
}

/** One click: the chosen phone scans the session's current QR, as a real phone would. */
function LinkSession({ phones, sessions, onLinked }: { phones: any[]; sessions: any[]; onLinked: () => void }) {
  const pending = sessions.filter((s) => s.status === "pending");
  const [sessionId, setSessionId] = useState("");
  const [phone, setPhone] = useState("");
  const [status, busy, run] = useAction();
  const chosenSession = sessionId || pending[0]?.id || "";
  const chosenPhone = phone || phones[0]?.phone_number || "";
  const scan = (e: Event) => {
    e.preventDefault();
    void run("Scan QR code", () => api("POST", `/v1/sandbox/sessions/${chosenSession}/scan`, { body: { phone_number: chosenPhone } })).then((ok) => ok && onLinked());
  };
  return (
    <form class="card" onSubmit={scan}>
      <h2>Link a session</h2>
      <label>
        Session to link
        <select value={chosenSession} onChange={(e) => setSessionId(e.currentTarget.value)} required>
          {pending.length === 0 && <option value="">no pending sandbox session</option>}
          {pending.map((s) => <option key={s.id} value={s.id}>{s.name ?? s.session_id}</option>)}
        </select>
      </label>
      <label>
        Phone that scans
        <select value={chosenPhone} onChange={(e) => setPhone(e.currentTarget.value)} required>
          {phones.length === 0 && <option value="">no phone</option>}
          {phones.map((p) => <option key={p.phone_number} value={p.phone_number}>{p.name} ({p.phone_number})</option>)}
        </select>
      </label>
      <button type="submit" disabled={busy || !chosenSession || !chosenPhone}>Scan QR code</button>
      <StatusLine text={status} />
    </form>
  );
}
