import { useEffect, useState } from "preact/hooks";
import { describeError, mediaBlobUrl } from "../lib/api";
import { MEDIA_TYPES } from "../lib/domain";
import { mediaKind } from "../lib/media-type";
import { Badge, Empty, Time } from "./status";
import { Table, type Column } from "./table";

const MEDIA = new Set<string>(MEDIA_TYPES);

const COLUMNS: Column<any>[] = [
  { header: "Status", cell: (m) => <><Badge value={m.status} />{m.reason && <div class="muted">{m.reason}</div>}</> },
  { header: "Direction", cell: (m) => m.direction },
  { header: "From → to", cell: (m) => `${m.from_number ?? "?"} → ${m.to_number ?? "?"}` },
  { header: "Type", cell: (m) => m.type },
  {
    header: "Content",
    class: "content",
    cell: (m) => (
      <>
        {m.content}
        {MEDIA.has(m.type) && m.direction === "incoming" && <MediaPreview id={m.id} />}
        {MEDIA.has(m.type) && m.direction === "outgoing" && m.media_url && (
          <div>
            <a href={m.media_url} rel="noreferrer noopener" target="_blank">media</a>
          </div>
        )}
      </>
    ),
  },
  { header: "Sent", cell: (m) => <Time value={m.sent_at} /> },
  { header: "Delivered", cell: (m) => <Time value={m.delivered_at} /> },
  { header: "Read", cell: (m) => <Time value={m.read_at} /> },
];

/** Messages with their status badge and sent/delivered/read times; incoming media on demand. */
export function MessageTable({ messages }: { messages: any[] }) {
  if (messages.length === 0) return <Empty>No messages.</Empty>;
  return <Table rows={messages} columns={COLUMNS} rowKey={(m) => m.id} />;
}

/**
 * Fetched with the Bearer header (an <img src> could not send it), shown as a blob URL whose type
 * passed the allow-list (lib/media-type.ts); anything else is only offered as a download.
 */
function MediaPreview({ id }: { id: string }) {
  const [media, setMedia] = useState<{ url: string; type: string }>();
  const [error, setError] = useState<string>();
  useEffect(() => () => { if (media) URL.revokeObjectURL(media.url); }, [media]);

  const load = async () => {
    setError(undefined);
    try {
      setMedia(await mediaBlobUrl(`/v1/whatsapp/messages/${encodeURIComponent(id)}/media`));
    } catch (e) {
      setError(describeError(e));
    }
  };

  if (!media) {
    return (
      <div>
        <button type="button" class="small" onClick={load}>Show media</button>
        {error && <span class="status-error" role="alert"> {error}</span>}
      </div>
    );
  }
  switch (mediaKind(media.type)) {
    case "image":
      return <img class="media" src={media.url} alt={`image of message ${id}`} />;
    case "video":
      return <video class="media" src={media.url} controls aria-label={`video of message ${id}`} />;
    case "audio":
      return <audio src={media.url} controls aria-label={`audio of message ${id}`} />;
    default:
      return <a href={media.url} download={`message-${id}`}>Download file</a>;
  }
}
