import { Buffer } from "node:buffer";
import { bigEndian, readBigEndian } from "./crypto";
import type { ServerConnection } from "./connection";
import { MAX_MEDIA_BYTES } from "./media";
import { type BinaryNode, bytesOf, child, children, iqError, iqResult, lidJid, node, parseJid, pnJid, textOf } from "./stanzas";
import type { SandboxWorld } from "./sandbox.world";
import type { PhoneRow } from "./world.store";

/** Answers one iq from a logged-in or registering client. Unknown iqs get an empty result and a log line. */
export async function handleIq(world: SandboxWorld, conn: ServerConnection, iq: BinaryNode): Promise<void> {
  const { xmlns, type } = iq.attrs;
  const first = children(iq)[0]?.tag;
  const reply = (content?: BinaryNode[]) => conn.send(iqResult(iq, content));
  switch (`${xmlns}/${type}/${first ?? ""}`) {
    case "w:p/get/ping":
    case "passive/set/active":
    case "passive/set/passive":
    case "privacy/set/privacy":
    case "privacy/set/tokens":
    case "w:stats/set/add":
    case "w:stats//add":
      return reply();
    case "encrypt/get/count":
      return reply([node("count", { value: String(world.prekeyCount(conn)) })]);
    case "encrypt/set/registration":
    case "encrypt/set/list":
      return handlePrekeyUpload(world, conn, iq);
    case "encrypt/get/digest":
      return reply([node("digest", {})]);
    case "encrypt/set/rotate":
      world.rotateSignedPrekey(conn, child(child(iq, "rotate"), "skey"));
      return reply();
    case "encrypt/get/key":
      return reply([node("list", {}, children(child(iq, "key"), "user").map((u) => world.keyBundle(u.attrs.jid)))]);
    case "abt/get/props":
      return reply([node("props", { protocol: "1", hash: "sandbox" })]);
    case "blocklist/get/":
      return reply([node("list", {})]);
    case "privacy/get/privacy":
      return reply([
        node("privacy", {}, ["readreceipts", "last", "online", "profile", "status", "groupadd", "calladd", "messages"].map((name) =>
          node("category", { name, value: name === "readreceipts" ? "all" : name === "online" ? "all" : name === "messages" ? "all" : "contacts" }))),
      ]);
    case "usync/get/usync":
      return reply([usync(world, child(iq, "usync")!)]);
    case "w:sync:app:state/set/sync":
      // No app-state patches in the sandbox: every collection is current at the version asked for.
      return reply([node("sync", {}, children(child(iq, "sync"), "collection").map((c) => node("collection", { name: c.attrs.name, version: c.attrs.version ?? "0" })))]);
    case "md/set/remove-companion-device":
      world.companionLoggedOut(conn, "client logout");
      return reply();
    case "md/set/link_code_companion_reg":
      return world.onLinkCode(conn, iq);
    case "w:m/set/media_conn": {
      if (!conn.account) return conn.send(iqError(iq, 401, "not-authorized"));
      return reply([node("media_conn", { auth: world.media.authToken(conn.account.phone, conn.account.device), ttl: "300", auth_ttl: "21600", max_buckets: "12" }, [
        node("host", { hostname: world.mediaHost(conn), maxContentLengthBytes: String(MAX_MEDIA_BYTES) }),
      ])]);
    }
    case "w:g2/get/query":
    case "w:g2/get/participating": {
      const answer = world.groupQuery(conn, iq);
      if (answer === "not-found") return conn.send(iqError(iq, 404, "item-not-found"));
      if (answer === "forbidden") return conn.send(iqError(iq, 403, "forbidden"));
      return reply([answer]);
    }
    default:
      world.log("unknown_iq", { session: conn.sessionId, xmlns, type, first });
      return reply();
  }
}

async function handlePrekeyUpload(world: SandboxWorld, conn: ServerConnection, iq: BinaryNode): Promise<void> {
  const keys = children(child(iq, "list"), "key").map((k) => ({ id: readBigEndian(bytesOf(child(k, "id"))!), pub: bytesOf(child(k, "value"))! }));
  const skey = child(iq, "skey");
  const ok = world.storeUploadedPrekeys(conn, keys, skey);
  if (!ok) return conn.send(iqError(iq, 401, "not-authorized"));
  conn.send(iqResult(iq));
  await world.afterPrekeyUpload(conn);
}

/** A `<user>` of the key-fetch result: a prekey bundle, or 404 for numbers not on WhatsApp. */
export function bundleNode(jid: string, owner: { regId: number; identity: Buffer; skeyId: number; skeyPub: Buffer; skeySig: Buffer } | undefined, oneTime?: { id: number; pub: Buffer }): BinaryNode {
  if (!owner) return node("user", { jid }, [node("error", { code: "404", text: "item-not-found" })]);
  const content: BinaryNode[] = [
    node("registration", {}, bigEndian(owner.regId, 4)),
    node("type", {}, Buffer.from([5])),
    node("identity", {}, owner.identity),
    node("skey", {}, [node("id", {}, bigEndian(owner.skeyId, 3)), node("value", {}, owner.skeyPub), node("signature", {}, owner.skeySig)]),
  ];
  if (oneTime) content.push(node("key", {}, [node("id", {}, bigEndian(oneTime.id, 3)), node("value", {}, oneTime.pub)]));
  return node("user", { jid }, content);
}

function usync(world: SandboxWorld, query: BinaryNode): BinaryNode {
  const protocols = children(child(query, "query")).map((p) => p.tag);
  const users = children(child(query, "list"), "user").map((u) => {
    const contactNode = child(u, "contact");
    const asked = u.attrs.jid ?? textOf(contactNode) ?? "";
    const phone = resolveUser(world, asked);
    const digits = asked.replace(/^\+/, "").split("@")[0].split(":")[0];
    const jid = phone ? pnJid(phone.phone) : u.attrs.jid ?? `${digits}@s.whatsapp.net`;
    const out: BinaryNode[] = [];
    for (const p of protocols) {
      if (p === "contact") out.push(node("contact", { type: phone ? "in" : "out" }));
      else if (p === "lid" && phone) out.push(node("lid", { val: lidJid(phone.lid) }));
      else if (p === "devices") {
        const devices = phone ? [node("device", { id: "0" }), ...world.store.activeCompanions(phone.phone).map((c) => node("device", { id: String(c.device), "key-index": String(c.key_index) }))] : [];
        out.push(node("devices", {}, [node("device-list", {}, devices)]));
      } else if (p === "status" && phone) out.push(node("status", { t: String(Math.floor(phone.created_at / 1000)) }, "Hey there! I am using WhatsApp."));
    }
    return node("user", { jid }, out);
  });
  return node("usync", { sid: query.attrs.sid, index: "0", last: "true", mode: query.attrs.mode, context: query.attrs.context }, [
    node("result", {}, protocols.map((p) => node(p, {}))),
    node("list", {}, users),
  ]);
}

/** A user given as `123@s.whatsapp.net`, `456@lid`, or `+123`. */
export function resolveUser(world: SandboxWorld, id: string): PhoneRow | undefined {
  const parsed = parseJid(id);
  if (parsed?.server === "lid") return world.store.phoneByLid(parsed.user);
  const digits = (parsed?.user ?? id).replace(/^\+/, "");
  return /^\d+$/.test(digits) ? world.store.phone(digits) : undefined;
}
