import { useEffect, useState } from "preact/hooks";
import { api, ApiError, describeError } from "../lib/api";
import { useAction } from "../lib/hooks";
import { readSse } from "../lib/sse";
import { StatusLine } from "../ui/status";

interface Linked {
  phone_number: string;
  display_name: string;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * While a session is pending: its QR, refreshed from the session's event stream (`qr` events),
 * until `connected`. The stream closes after `connected` or its timeout; it is reopened with
 * Last-Event-ID for as long as the panel is shown (the session page removes it once the session
 * is no longer pending).
 */
export function LinkPanel({ sessionId, sandbox, onChange }: { sessionId: string; sandbox: boolean; onChange: () => void }) {
  const [qr, setQr] = useState<string>();
  const [linked, setLinked] = useState<Linked>();
  const [streamStatus, setStreamStatus] = useState("Waiting for the QR code…");

  useEffect(() => {
    const controller = new AbortController();
    let lastId: string | undefined;
    (async () => {
      while (!controller.signal.aborted) {
        try {
          lastId = await readSse(`/v1/whatsapp/sessions/${encodeURIComponent(sessionId)}/stream`, (event) => {
            const data = JSON.parse(event.data);
            if (event.event === "qr") {
              setQr(data.qr_code);
              setStreamStatus("Scan the QR code with WhatsApp (Linked devices → Link a device).");
            } else if (event.event === "connected") {
              setLinked(data);
              setStreamStatus(`Connected as ${data.phone_number} (${data.display_name}).`);
              onChange();
            } else if (event.event === "status") {
              if (data.status !== "pending") onChange();
              if (data.status !== "pending" && data.status !== "connected") setStreamStatus(`Session is ${data.status}${data.reason ? ` (${data.reason})` : ""}.`);
            } else if (event.event === "error") {
              setStreamStatus(`Stream error: ${data.message ?? event.data}`);
            }
          }, controller.signal, lastId);
          // The stream closed (its timeout): reopen after a breath.
          await pause(1000);
        } catch (error) {
          if (controller.signal.aborted) return;
          // Gone or refused (a 401 has signed out already): retrying cannot help.
          if (error instanceof ApiError && [401, 403, 404].includes(error.status)) {
            setStreamStatus(`Event stream refused: ${describeError(error)}`);
            return;
          }
          setStreamStatus(`Event stream failed: ${describeError(error)}; retrying…`);
          await pause(3000);
        }
      }
    })();
    return () => controller.abort();
  }, [sessionId]);

  return (
    <section class="card" aria-labelledby="link-heading">
      <h2 id="link-heading">Link a phone</h2>
      {linked ? (
        <p>
          Linked to <strong>{linked.phone_number}</strong> ({linked.display_name}).
        </p>
      ) : qr ? (
        <img class="qr" src={qr} alt="QR code to link this session" width={256} height={256} />
      ) : null}
      <StatusLine text={streamStatus} />
      {!linked && <PairingCode sessionId={sessionId} sandbox={sandbox} />}
    </section>
  );
}

function PairingCode({ sessionId, sandbox }: { sessionId: string; sandbox: boolean }) {
  const [phone, setPhone] = useState("");
  const [code, setCode] = useState<{ code: string; phone: string }>();
  const [status, busy, run] = useAction();
  const [enterStatus, entering, enter] = useAction();

  const request = (e: Event) => {
    e.preventDefault();
    void run("Pairing code", async () => {
      const answer = await api("POST", `/v1/whatsapp/sessions/${encodeURIComponent(sessionId)}/pairing-code`, { body: { phone_number: phone.trim() } });
      setCode({ code: answer.pairing_code, phone: answer.phone_number });
      return `Enter the code on the phone ${answer.phone_number}.`;
    });
  };

  // The sandbox phone of that number types the code, as its owner would (POST /v1/sandbox/phones/{n}/pairing-code).
  const enterWithSandboxPhone = () =>
    enter(`Enter code with phone ${code!.phone}`, () =>
      api("POST", `/v1/sandbox/phones/${encodeURIComponent(code!.phone.replace(/^\+/, ""))}/pairing-code`, { body: { code: code!.code } }),
    );

  return (
    <form onSubmit={request} class="inline-form">
      <h3>Or link with a pairing code</h3>
      <label>
        Phone number to link
        <input type="tel" required value={phone} onInput={(e) => setPhone(e.currentTarget.value)} placeholder="+14155552671" />
      </label>
      <button type="submit" disabled={busy}>Get pairing code</button>
      {code && (
        <p>
          Pairing code: <code class="pairing-code">{code.code}</code>
        </p>
      )}
      <StatusLine text={status} />
      {code && sandbox && (
        <p>
          <button type="button" disabled={entering} onClick={() => void enterWithSandboxPhone()}>
            Enter code with phone {code.phone}
          </button>
          <StatusLine text={enterStatus} />
        </p>
      )}
    </form>
  );
}
