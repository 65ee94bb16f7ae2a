import { useState } from "preact/hooks";
import { api } from "../lib/api";
import { useAction } from "../lib/hooks";
import { StatusLine } from "../ui/status";
import { FAULT_KINDS as KINDS } from "../lib/domain";

/** Inject a fault into a sandbox session's connection (docs/protocol/faults.md). */
export function SandboxFaults({ sessions }: { sessions: any[] }) {
  const [sessionId, setSessionId] = useState("");
  const [kind, setKind] = useState("drop");
  const [ms, setMs] = useState("");
  const [code, setCode] = useState("");
  const [count, setCount] = useState("");
  const [status, busy, run] = useAction();
  const chosen = sessionId || sessions[0]?.id || "";

  const inject = (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = { kind };
    if (ms) body.ms = Number(ms);
    if (code) body.code = code;
    if (count) body.count = Number(count);
    void run(`Inject ${kind}`, () => api("POST", `/v1/sandbox/sessions/${chosen}/faults`, { body }));
  };

  return (
    <form class="card" onSubmit={inject} aria-labelledby="faults-heading">
      <h2 id="faults-heading">Inject a fault</h2>
      <div class="grid">
        <label>
          Session
          <select value={chosen} onChange={(e) => setSessionId(e.currentTarget.value)}>
            {sessions.map((s) => <option key={s.id} value={s.id}>{s.name ?? s.session_id} ({s.status})</option>)}
          </select>
        </label>
        <label>
          Fault
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            {KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
          </select>
        </label>
        <label>Milliseconds<input type="number" min={0} value={ms} onInput={(e) => setMs(e.currentTarget.value)} /></label>
        <label>Code<input value={code} onInput={(e) => setCode(e.currentTarget.value)} /></label>
        <label>Count<input type="number" min={1} max={100} value={count} onInput={(e) => setCount(e.currentTarget.value)} /></label>
      </div>
      <button type="submit" disabled={busy || !chosen}>Inject fault</button>
      <StatusLine text={status} />
    </form>
  );
}
