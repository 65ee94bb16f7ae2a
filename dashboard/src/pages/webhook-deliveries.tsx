import { api } from "../lib/api";
import { useAction, usePoll } from "../lib/hooks";
import { Badge, Empty, ErrorLine, StatusLine, Time } from "../ui/status";
import { Table, type Column } from "../ui/table";

const ATTEMPT_COLUMNS: Column<any>[] = [
  { header: "Attempt", cell: (a) => `#${a.attempt}` },
  { header: "HTTP status", cell: (a) => a.status_code ?? "—" },
  { header: "Error", cell: (a) => a.error ?? "—" },
  { header: "Duration", cell: (a) => `${a.duration_ms} ms` },
  { header: "At", cell: (a) => <Time value={a.created_at} /> },
];

/** A webhook's deliveries log, each with every attempt; polled while open. */
export function Deliveries({ webhookId, refresh }: { webhookId: string; refresh: number }) {
  const path = `/v1/whatsapp/webhooks/${webhookId}/deliveries`;
  const list = usePoll((signal) => api("GET", `${path}?limit=20`, { signal }).then((a) => a.deliveries as any[]), [webhookId, refresh], { intervalMs: 3000 });
  const [status, busy, run] = useAction();
  return (
    <section aria-label="Deliveries">
      <h4>Deliveries</h4>
      <ErrorLine text={list.error} />
      <StatusLine text={status} />
      {list.data?.length === 0 && <Empty>No delivery yet.</Empty>}
      <ul class="deliveries">
        {list.data?.map((d) => (
          <li key={d.id} class="delivery">
            <p>
              <Badge value={d.status} /> <strong>{d.event_type}</strong> · {d.attempts} attempt{d.attempts === 1 ? "" : "s"} · <Time value={d.created_at} />{" "}
              <button type="button" class="small" disabled={busy} onClick={() => run("Replay delivery", () => api("POST", `${path}/${d.id}/replay`)).then(() => list.reload())}>
                Replay
              </button>
            </p>
            {d.attempt_log.length > 0 && (
              <Table class="attempts" caption={`Attempts of delivery ${d.id}`} rows={d.attempt_log} columns={ATTEMPT_COLUMNS} rowKey={(a) => String(a.attempt)} />
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
