import { isLidGroup, memberAttrs, toLidParticipants } from "./lids";
import type { ServerCore } from "./server.core";
import { type BinaryNode, node, pnJid, serverId, unixNow } from "./stanzas";

// The w:gp2 notifications a group's members' devices receive (Baileys Socket/messages-recv.js
// handleGroupNotification; whatsmeow notification.go parseGroupNotification): one `<notification
// from=group type="w:gp2" participant=actor>` whose children say what happened.

/** Sends a fresh stanza (own id and time) to every linked device of each of `recipients` (phones). */
function toDevices(core: ServerCore, recipients: Iterable<string>, stanza: () => BinaryNode): void {
  for (const phone of new Set(recipients)) {
    for (const c of core.store.activeCompanions(phone)) core.deliver(c.phone, c.device, stanza());
  }
}

/**
 * Tells every linked device of `recipients` (phones) about a change to `groupJid` made by `actor`
 * (a phone number, or undefined for the server itself). Kept until answered, like every stanza.
 */
export function notifyGroup(core: ServerCore, groupJid: string, actor: string | undefined, changes: BinaryNode[], recipients: Iterable<string>): void {
  const by = actor ? core.phoneRow(actor) : undefined;
  // A LID-addressed group names the actor and the members by LID, numbers beside them (lids.ts).
  const lid = isLidGroup(core.store, groupJid);
  const who = by && lid ? memberAttrs(by, true) : { participant: actor ? pnJid(actor) : undefined };
  const body = lid ? changes.map((c) => toLidParticipants(core.store, c)) : changes;
  toDevices(core, recipients, () => node("notification", {
    from: groupJid, type: "w:gp2", id: serverId(), t: String(unixNow()),
    participant: who.participant, participant_pn: "participant_pn" in who ? who.participant_pn : undefined, notify: by?.name,
  }, body));
}

/**
 * A group's picture changed: `<notification from=group type="picture"><set jid=group id author/>`
 * (or `<delete jid author/>`), as whatsmeow handlePictureNotification and Baileys' `picture` case read it.
 */
export function notifyGroupPicture(core: ServerCore, groupJid: string, actor: string, pictureId: string | null, recipients: Iterable<string>): void {
  const change = pictureId
    ? node("set", { jid: groupJid, id: pictureId, author: pnJid(actor) })
    : node("delete", { jid: groupJid, author: pnJid(actor) });
  toDevices(core, recipients, () => node("notification", { from: groupJid, type: "picture", id: serverId(), t: String(unixNow()) }, [change]));
}
