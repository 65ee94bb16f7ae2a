import type { ServerConnection } from "./connection";
import { aboutFor } from "./profile.read.handler";
import type { ServerCore } from "./server.core";
import { type BinaryNode, child, children, iqResult, lidJid, node, pnJid, textOf } from "./stanzas";

// What a client asks about its account and contacts right after login, and keep-alives (Baileys
// Socket/socket.js sendPassiveIq, keep-alive ping; Socket/chats.js fetchProps (app state:
// appstate.handler.ts); Socket/usync + WAUSync for onWhatsApp and devices). Privacy: privacy.handler.ts.

/** Acknowledged with an empty result: ping, passive/active, privacy token updates, stats. */
export function onEmptyResult(_core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  conn.send(iqResult(iq));
}

/** abt get `<props>`: A/B props; none in the sandbox. */
export function onProps(_core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  conn.send(iqResult(iq, [node("props", { protocol: "1", hash: "sandbox" })]));
}

/** usync get: for each user asked, the protocols asked (contact, lid, devices, status); unknown numbers are "out". */
export function onUsync(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  const query = child(iq, "usync")!;
  const protocols = children(child(query, "query")).map((p) => p.tag);
  const users = children(child(query, "list"), "user").map((u) => {
    const contactNode = child(u, "contact");
    const asked = u.attrs.jid ?? textOf(contactNode) ?? "";
    const phone = core.resolveUser(asked);
    const digits = asked.replace(/^\+/, "").split("@")[0].split(":")[0];
    // A user asked by LID is answered by LID (devices then come as LID device jids, as Baileys expects).
    const jid = phone ? (asked.endsWith("@lid") ? lidJid(phone.lid) : pnJid(phone.phone)) : u.attrs.jid ?? `${digits}@s.whatsapp.net`;
    const out: BinaryNode[] = [];
    for (const p of protocols) {
      if (p === "contact") out.push(node("contact", { type: phone ? "in" : "out" }));
      else if (p === "lid" && phone) out.push(node("lid", { val: lidJid(phone.lid) }));
      else if (p === "devices") {
        const devices = phone ? [node("device", { id: "0" }), ...core.store.activeCompanions(phone.phone).map((c) => node("device", { id: String(c.device), "key-index": String(c.key_index) }))] : [];
        out.push(node("devices", {}, [node("device-list", {}, devices)]));
      } else if (p === "status" && phone) out.push(aboutFor(core, phone.phone, conn.account?.phone));
    }
    return node("user", { jid }, out);
  });
  conn.send(iqResult(iq, [node("usync", { sid: query.attrs.sid, index: "0", last: "true", mode: query.attrs.mode, context: query.attrs.context }, [
    node("result", {}, protocols.map((p) => node(p, {}))),
    node("list", {}, users),
  ])]));
}
