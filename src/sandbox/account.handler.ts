import type { ServerConnection } from "./connection";
import type { ServerCore } from "./server.core";
import { type BinaryNode, child, children, iqResult, lidJid, node, pnJid, textOf } from "./stanzas";

// What a client asks about its account and contacts right after login, and keep-alives (Baileys
// Socket/socket.js sendPassiveIq, keep-alive ping; Socket/chats.js fetchPrivacySettings,
// fetchBlocklist, fetchProps (app state: appstate.handler.ts); Socket/usync + WAUSync for onWhatsApp and devices).

/** Acknowledged with an empty result: ping, passive/active, privacy and token updates, stats. */
export function onEmptyResult(_core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  conn.send(iqResult(iq));
}

/** abt get `<props>`: A/B props; none in the sandbox. */
export function onProps(_core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  conn.send(iqResult(iq, [node("props", { protocol: "1", hash: "sandbox" })]));
}

/** blocklist get: nobody is blocked. */
export function onBlocklist(_core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  conn.send(iqResult(iq, [node("list", {})]));
}

const PRIVACY_CATEGORIES = ["readreceipts", "last", "online", "profile", "status", "groupadd", "calladd", "messages"];
const EVERYONE = new Set(["readreceipts", "online", "messages"]);

/** privacy get: WhatsApp's defaults (read receipts, online and messages: all; the rest: contacts). */
export function onPrivacy(_core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  conn.send(iqResult(iq, [
    node("privacy", {}, PRIVACY_CATEGORIES.map((name) => node("category", { name, value: EVERYONE.has(name) ? "all" : "contacts" }))),
  ]));
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
    const jid = phone ? pnJid(phone.phone) : u.attrs.jid ?? `${digits}@s.whatsapp.net`;
    const out: BinaryNode[] = [];
    for (const p of protocols) {
      if (p === "contact") out.push(node("contact", { type: phone ? "in" : "out" }));
      else if (p === "lid" && phone) out.push(node("lid", { val: lidJid(phone.lid) }));
      else if (p === "devices") {
        const devices = phone ? [node("device", { id: "0" }), ...core.store.activeCompanions(phone.phone).map((c) => node("device", { id: String(c.device), "key-index": String(c.key_index) }))] : [];
        out.push(node("devices", {}, [node("device-list", {}, devices)]));
      } else if (p === "status" && phone) out.push(node("status", { t: String(Math.floor(phone.created_at / 1000)) }, "Hey there! I am using WhatsApp."));
    }
    return node("user", { jid }, out);
  });
  conn.send(iqResult(iq, [node("usync", { sid: query.attrs.sid, index: "0", last: "true", mode: query.attrs.mode, context: query.attrs.context }, [
    node("result", {}, protocols.map((p) => node(p, {}))),
    node("list", {}, users),
  ])]));
}
