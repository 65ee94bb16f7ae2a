import { useState } from "preact/hooks";
import { api } from "../lib/api";
import { useAction } from "../lib/hooks";
import { StatusLine } from "../ui/status";

/** The other way to link: a phone types the code a session showed (session page, "pairing code"). */
export function SandboxPairing({ phones }: { phones: any[] }) {
  const [phone, setPhone] = useState("");
  const [code, setCode] = useState("");
  const [status, busy, run] = useAction();
  const chosen = phone || phones[0]?.phone_number || "";
  const enter = (e: Event) => {
    e.preventDefault();
    void run("Enter pairing code", () => api("POST", `/v1/sandbox/phones/${chosen}/pairing-code`, { body: { code: code.trim() } }));
  };
  return (
    <form class="card" onSubmit={enter}>
      <h2>Enter a pairing code</h2>
      <label>
        Phone that enters the code
        <select value={chosen} onChange={(e) => setPhone(e.currentTarget.value)} required>
          {phones.map((p) => <option key={p.phone_number} value={p.phone_number}>{p.name} ({p.phone_number})</option>)}
        </select>
      </label>
      <label>
        Pairing code
        <input required pattern="[A-Za-z0-9\-]{8,9}" value={code} onInput={(e) => setCode(e.currentTarget.value)} placeholder="ABCD-1234" />
      </label>
      <button type="submit" disabled={busy || !chosen}>Enter code</button>
      <StatusLine text={status} />
    </form>
  );
}
