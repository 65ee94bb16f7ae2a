import { useState } from "preact/hooks";
import { api } from "../lib/api";
import { usePoll } from "../lib/hooks";
import { MessageTable } from "../ui/message-table";
import { ErrorLine } from "../ui/status";
import { DIRECTIONS, MESSAGE_STATUSES, MESSAGE_TYPES } from "../lib/domain";

const STATUSES = ["", ...MESSAGE_STATUSES];
const TYPES = ["", ...MESSAGE_TYPES];

type Filters = Record<string, string>;

function query(filters: Filters, cursor: string | undefined): string {
  const q = new URLSearchParams();
  for (const key of ["status", "direction", "type", "from_number", "campaign_id"]) if (filters[key]) q.set(`filter[${key}]`, filters[key]);
  for (const n of (filters.to_number ?? "").split(/[\s,]+/).filter(Boolean)) q.append("filter[to_number][]", n);
  if (filters.session_id) q.set("session_id", filters.session_id);
  if (filters.time_from) q.set("time_from", new Date(filters.time_from).toISOString());
  if (filters.time_to) q.set("time_to", new Date(filters.time_to).toISOString());
  q.set("limit", filters.limit || "20");
  if (cursor) q.set("cursor", cursor);
  return q.toString();
}

/** The seed-000 filters, cursor pages; the first page refreshes itself so statuses move live. */
export function MessagesPage({ campaign }: { campaign?: string }) {
  const initial: Filters = campaign ? { limit: "20", campaign_id: campaign } : { limit: "20" };
  const [draft, setDraft] = useState<Filters>(initial);
  const [filters, setFilters] = useState<Filters>(initial);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = usePoll(
    (signal) => api("GET", `/v1/whatsapp/messages?${query(filters, cursor)}`, { signal }),
    [filters, cursor],
    { intervalMs: cursor ? 0 : 3000 },
  );
  const field = (name: string) => ({ value: draft[name] ?? "", onInput: (e: Event) => setDraft({ ...draft, [name]: (e.currentTarget as HTMLInputElement).value }) });
  const select = (name: string, options: string[]) => (
    <select value={draft[name] ?? ""} onChange={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })}>
      {options.map((o) => <option key={o} value={o}>{o || "any"}</option>)}
    </select>
  );

  const apply = (e: Event) => {
    e.preventDefault();
    setCursors([]);
    setFilters({ ...draft });
  };

  return (
    <>
      <h1 tabIndex={-1}>Messages</h1>
      <form class="card grid filters" onSubmit={apply} aria-label="Message filters">
        <label>Status{select("status", STATUSES)}</label>
        <label>Direction{select("direction", ["", ...DIRECTIONS])}</label>
        <label>Type{select("type", TYPES)}</label>
        <label>To numbers<input {...field("to_number")} placeholder="comma separated" /></label>
        <label>From number<input {...field("from_number")} /></label>
        <label>Session id<input {...field("session_id")} /></label>
        <label>Campaign id<input {...field("campaign_id")} /></label>
        <label>From time<input type="datetime-local" {...field("time_from")} /></label>
        <label>To time<input type="datetime-local" {...field("time_to")} /></label>
        <label>Per page<input type="number" min={1} max={100} {...field("limit")} /></label>
        <div class="actions">
          <button type="submit">Apply filters</button>
        </div>
      </form>
      <ErrorLine text={page.error} />
      <section aria-labelledby="messages-list">
        <h2 id="messages-list">
          {cursor ? `Page ${cursors.length + 1}` : "Latest messages (live)"}
        </h2>
        {page.data && <MessageTable messages={page.data.data} />}
        <div class="actions" role="group" aria-label="Pages">
          <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>Previous page</button>
          <button type="button" disabled={!page.data?.meta?.next_cursor} onClick={() => setCursors([...cursors, page.data.meta.next_cursor])}>Next page</button>
        </div>
      </section>
    </>
  );
}
