import { useState } from "preact/hooks";
import { api } from "../lib/api";
import { usePoll } from "../lib/hooks";
import { Empty, ErrorLine, Time } from "../ui/status";

const finished = (c: any) => c.progress.done >= c.total;

/**
 * The account's campaigns (GET /v1/whatsapp/campaigns), newest first in cursor pages. The page
 * is polled, so progress bars move, until every campaign on it has finished.
 */
export function CampaignsPage() {
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = usePoll(
    (signal) => api("GET", `/v1/whatsapp/campaigns?limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { signal }),
    [cursor],
    { intervalMs: 3000, keepPolling: (p) => (p.campaigns as any[]).some((c) => !finished(c)) },
  );
  const campaigns: any[] | undefined = page.data?.campaigns;
  return (
    <>
      <h1 tabIndex={-1}>Campaigns</h1>
      <ErrorLine text={page.error} />
      <div class="actions">
        <button type="button" class="secondary" onClick={() => void page.reload()}>Refresh campaigns</button>
      </div>
      {campaigns?.length === 0 && <Empty>No campaign yet: every send is one.</Empty>}
      <ul class="campaigns">
        {campaigns?.map((c) => (
          <li key={c.id} class="card">
            <h2 class="h3">
              {c.type} to {c.total} recipient{c.total === 1 ? "" : "s"}
            </h2>
            <p class="muted">
              <code>{c.id}</code> · <Time value={c.created_at} /> {c.scheduled_at && <>· scheduled <Time value={c.scheduled_at} /></>}
            </p>
            <label>
              Progress {c.progress.done}/{c.total} ({c.progress.percent}%){finished(c) ? " — finished" : ""}
              <progress max={100} value={c.progress.percent} />
            </label>
            <p>
              {Object.entries(c.counts as Record<string, number>)
                .filter(([, n]) => n > 0)
                .map(([status, n]) => `${status} ${n}`)
                .join(" · ")}
              {" · "}
              <a href={`#/messages/campaign/${c.id}`}>messages of this campaign</a>
            </p>
          </li>
        ))}
      </ul>
      <div class="actions" role="group" aria-label="Pages">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>Previous page</button>
        <button type="button" disabled={!page.data?.next_cursor} onClick={() => setCursors([...cursors, page.data.next_cursor])}>Next page</button>
      </div>
    </>
  );
}
