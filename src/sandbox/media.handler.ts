import type { ServerConnection } from "./connection";
import { MAX_MEDIA_BYTES } from "./media";
import type { ServerCore } from "./server.core";
import { type BinaryNode, iqError, iqResult, node } from "./stanzas";

// Media, seen from the chat socket (Baileys Socket/messages-send.js refreshMediaConn): where to
// upload and with what token. The uploads and downloads themselves are HTTP (media.ts MediaServer).

/** w:m set `<media_conn>`: the media host (this object, as the session routes it) and an upload token. */
export function onMediaConn(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  if (!conn.account) return conn.send(iqError(iq, 401, "not-authorized"));
  conn.send(iqResult(iq, [node("media_conn", { auth: core.media.authToken(conn.account.phone, conn.account.device), ttl: "300", auth_ttl: "21600", max_buckets: "12" }, [
    node("host", { hostname: core.mediaHost(conn), maxContentLengthBytes: String(MAX_MEDIA_BYTES) }),
  ])]));
}
