import { proto } from "baileys/WAProto/index.js";
import type { ServerConnection } from "./connection";
import { describeMessage } from "./content";
import { toBuffer } from "./crypto";
import { encryptForGroup, groupNode } from "./groups";
import { isLidGroup, memberAttrs } from "./lids";
import { encryptToCompanion, rowFields, stanzaType } from "./phone-side";
import type { ServerCore } from "./server.core";
import { PhoneSignalStore } from "./signal.store";
import { type BinaryNode, iqError, iqResult, messageId, node, pnJid, unixNow } from "./stanzas";
import type { PhoneRow } from "./world.store";

// Groups, seen from the server (Baileys Socket/groups.js groupMetadata and
// groupFetchAllParticipating; the w:gp2 `create` notification in Socket/messages-recv.js;
// sender-key fan-out as Socket/messages-send.js relayMessage does it for a group).

/** w:g2 get: one group's metadata (`<query>`), or all the groups the account is in (`<participating>`). */
export function onGroupQuery(core: ServerCore, conn: ServerConnection, iq: BinaryNode): void {
  const phone = conn.account?.phone;
  const first = iq.content && Array.isArray(iq.content) ? iq.content[0]?.tag : undefined;
  if (first === "participating") {
    const groups = phone ? core.groups.groupsOf(phone) : [];
    return conn.send(iqResult(iq, [node("groups", {}, groups.map((g) => groupNode(g, core.groups.members(g.jid), core.phoneRow)))]));
  }
  const g = core.groups.group(iq.attrs.to);
  if (!g) return conn.send(iqError(iq, 404, "item-not-found"));
  const members = core.groups.members(g.jid);
  if (!phone || !members.some((m) => m.phone === phone)) return conn.send(iqError(iq, 403, "forbidden"));
  conn.send(iqResult(iq, [groupNode(g, members, core.phoneRow)]));
}

/**
 * A simulated phone sends to a group: its sender key goes to each member device that lacks it (in a
 * Signal pkmsg/msg), the message itself once as a sender-key skmsg, fanned out per device.
 */
export async function sendGroupFromPhone(core: ServerCore, from: PhoneRow, groupJid: string, message: proto.IMessage): Promise<{ id: string; devices: number }> {
  const id = messageId();
  const ts = unixNow();
  const { skdm, ciphertext } = await encryptForGroup(core.store, from, groupJid, message);
  const keys = new PhoneSignalStore(core.store, from);
  const distribution = toBuffer(proto.Message.encode({ senderKeyDistributionMessage: { groupId: groupJid, axolotlSenderKeyDistributionMessage: skdm } }).finish());
  const type = stanzaType(message);
  let devices = 0;
  const members = core.groups.members(groupJid);
  const lid = isLidGroup(core.store, groupJid);
  for (const m of members) {
    for (const c of core.store.activeCompanions(m.phone)) {
      const content: BinaryNode[] = [];
      if (!core.groups.hasSenderKey(from.phone, groupJid, c.phone, c.device)) {
        const enc = await encryptToCompanion(core, keys, c, distribution);
        content.push(node("enc", { v: "2", type: enc.type }, enc.ciphertext));
        core.groups.markSenderKey(from.phone, groupJid, c.phone, c.device);
      }
      content.push(node("enc", { v: "2", type: "skmsg" }, ciphertext));
      core.deliver(c.phone, c.device, node("message", {
        from: groupJid, ...memberAttrs(from, lid), id, t: String(ts), type, notify: from.name, addressing_mode: lid ? "lid" : "pn",
      }, content));
      devices++;
    }
  }
  const content = describeMessage(message);
  content.extra.participant = from.phone;
  content.extra.media_status = content.media ? "ok" : null;
  const row = { id, from_device: 0, ...rowFields(content), timestamp: ts * 1000, delivered_at: null, read_at: null, chat_jid: groupJid };
  for (const m of members) {
    const own = m.phone === from.phone;
    core.store.upsertMessage({ ...row, owner: m.phone, direction: own ? "out" : "in", peer: own ? groupJid : from.phone });
  }
  return { id, devices };
}

