import { isBlocked } from "./blocklist";
import type { ServerConnection } from "./connection";
import { isLidGroup, memberAttrs, senderAttrs } from "./lids";
import { canSeeLastSeen, canSeeOnline } from "./presence.privacy";
import type { ServerCore } from "./server.core";
import { setPushName } from "./profiles";
import { type BinaryNode, children, lidJid, node, parseJid, pnJid, unixNow } from "./stanzas";
import type { PhoneRow } from "./world.store";

// Presence and chat states (docs/protocol/presence.md). An account's presence is what its last
// device (a linked session's `<presence type>`, or the simulated phone on the driver's command)
// said; the server pushes each change to the sockets subscribed to the account, and answers a
// subscription with the current one. Chat states (`<chatstate to><composing|paused/>`) are
// forwarded to the peer's live devices (or each group member's, with `participant`) and never
// stored for later: like WhatsApp's, a chat state missed is gone.

export type AccountPresence = "available" | "unavailable";
export type ChatState = "typing" | "recording" | "paused";

interface Subscription {
  conn: ServerConnection;
  /** The jid the subscriber named (number or LID form): pushes come `from` it. */
  jid: string;
}

/** A chat state as the stanza's child: recording is `<composing media="audio"/>`. */
export const chatStateNode = (state: ChatState): BinaryNode =>
  state === "typing" ? node("composing") : state === "recording" ? node("composing", { media: "audio" }) : node("paused");

function chatStateOf(stanza: BinaryNode): ChatState | undefined {
  const [first] = children(stanza);
  if (first?.tag === "composing") return first.attrs.media === "audio" ? "recording" : "typing";
  if (first?.tag === "paused") return "paused";
  return undefined;
}

/** Sends to a device only if it is connected and past its offline phase: presence is never kept. */
export function sendLive(core: ServerCore, phone: string, device: number, stanza: BinaryNode): boolean {
  const conn = core.byDeviceOf(phone, device);
  if (!conn || conn.state !== "open" || !core.offline.isLive(conn)) return false;
  conn.send(stanza);
  return true;
}


export class PresenceHandler {
  /** Subscribers by the account they follow; a subscription lives as long as its socket. */
  private readonly subscribers = new Map<string, Subscription[]>();
  /** Sockets whose device last said `available`: the account goes offline when the last one closes. */
  private readonly online = new Set<ServerConnection>();
  /** Simulated phones online on the driver's command (their main device, not a socket). */
  private readonly phonesOnline = new Set<string>();

  constructor(private readonly core: ServerCore) {}

  /** `<presence type=available|unavailable name>` (own presence) or `<presence type=subscribe|unsubscribe to>`. */
  onPresence(conn: ServerConnection, stanza: BinaryNode): void {
    if (!conn.account) return;
    const type = stanza.attrs.type;
    // A device announces its push name on its own presence (Baileys socket.js sends `<presence name>`
    // with no type when creds.me.name changes); the server shows it as `notify` from then on.
    const name = stanza.attrs.name?.trim();
    if (name && type !== "subscribe" && type !== "unsubscribe" && name.length <= 100) setPushName(this.core.store, conn.account.phone, name);
    if (type === "subscribe") return this.subscribe(conn, stanza.attrs.to);
    if (type === "unsubscribe") return this.unsubscribe(conn, stanza.attrs.to);
    if (type === "available" || type === "unavailable") {
      if (type === "available") this.online.add(conn);
      else this.online.delete(conn);
      return this.setPresence(conn.account.phone, type);
    }
    this.core.log("presence_ignored", { session: conn.sessionId, type: type ?? null });
  }

  /** `<chatstate to>`: forwarded to the peer (or the group's other members), recorded for each phone. */
  onChatState(conn: ServerConnection, stanza: BinaryNode): void {
    const from = conn.account && this.core.store.phone(conn.account.phone);
    const state = chatStateOf(stanza);
    if (!from || !state || !stanza.attrs.to) return;
    this.chatState(from, stanza.attrs.to, state);
  }

  /** A socket closed: a device that was online goes offline, and the account with it if it was the last. */
  onClosed(conn: ServerConnection): void {
    if (!this.online.delete(conn) || !conn.account) return;
    const phone = conn.account.phone;
    if (this.phonesOnline.has(phone) || [...this.online].some((c) => c.account?.phone === phone)) return;
    if (this.presenceOf(phone).state === "available") this.setPresence(phone, "unavailable");
  }

  /** The simulated phone itself goes online or offline (the driver). */
  phoneSays(phone: string, state: AccountPresence): void {
    if (state === "available") this.phonesOnline.add(phone);
    else this.phonesOnline.delete(phone);
    this.setPresence(phone, state);
  }

  /**
   * The account's presence changes; its subscribers hear it (as its privacy allows), each only while
   * its own device shows online (see `subscribe`).
   */
  setPresence(phone: string, state: AccountPresence): void {
    const lastSeen = state === "unavailable" ? unixNow() : null;
    this.core.store.sql.run("UPDATE phones SET presence = ?, last_seen = COALESCE(?, last_seen) WHERE phone = ?", state, lastSeen, phone);
    this.core.log("presence", { phone, state });
    const live = (this.subscribers.get(phone) ?? []).filter((s) => s.conn.state === "open");
    this.subscribers.set(phone, live);
    for (const sub of live) {
      if (!this.online.has(sub.conn)) continue;
      const update = this.presenceFor(phone, sub.conn.account!.phone, sub.jid);
      if (update) sub.conn.send(update);
    }
  }

  presenceOf(phone: string): { state: AccountPresence; last_seen: number | null } {
    const row = this.core.store.sql.one<{ presence: string; last_seen: number | null }>("SELECT presence, last_seen FROM phones WHERE phone = ?", phone);
    return { state: row?.presence === "available" ? "available" : "unavailable", last_seen: row?.last_seen ?? null };
  }

  /**
   * `from` types, records or pauses in a chat: `to` a user (number or LID jid) or a group. Answers
   * how many devices it reached live.
   */
  chatState(from: PhoneRow, to: string, state: ChatState): number {
    const at = unixNow();
    const target = parseJid(to);
    let reached = 0;
    if (target?.server === "g.us") {
      const members = this.core.groups.members(to);
      if (!members.some((m) => m.phone === from.phone)) return 0;
      const lidGroup = isLidGroup(this.core.store, to);
      for (const m of members) {
        if (m.phone === from.phone) continue;
        this.record(m.phone, from.phone, to, state, at);
        reached += this.toDevices(m.phone, node("chatstate", { from: to, ...memberAttrs(from, lidGroup) }, [chatStateNode(state)]));
      }
    } else {
      const peer = this.core.resolveUser(to);
      if (!peer || peer.phone === from.phone || isBlocked(this.core, peer.phone, from.phone)) return 0;
      this.record(peer.phone, from.phone, pnJid(from.phone), state, at);
      reached += this.toDevices(peer.phone, node("chatstate", senderAttrs(from), [chatStateNode(state)]));
    }
    this.core.log("chatstate", { from: from.phone, to, state, devices: reached });
    return reached;
  }

  /** The chat states a phone was sent, oldest first. */
  seenBy(phone: string): { from: string; chat: string; state: ChatState; at: number }[] {
    return this.core.store.sql.all<{ sender: string; chat: string; state: ChatState; at: number }>(
      "SELECT sender, chat, state, at FROM chatstates_seen WHERE phone = ? ORDER BY seq", phone,
    ).map((r) => ({ from: r.sender, chat: r.chat, state: r.state, at: r.at }));
  }

  private record(phone: string, sender: string, chat: string, state: ChatState, at: number): void {
    this.core.store.sql.run("INSERT INTO chatstates_seen (phone, sender, chat, state, at) VALUES (?, ?, ?, ?, ?)", phone, sender, chat, state, at);
  }

  private toDevices(phone: string, stanza: BinaryNode): number {
    let n = 0;
    for (const c of this.core.store.activeCompanions(phone)) if (sendLive(this.core, c.phone, c.device, stanza)) n++;
    return n;
  }

  /**
   * Kept for the socket's life. Presence reaches only a subscriber whose device shows online
   * (whatsmeow `SubscribePresence`: "the WhatsApp servers require you to be online to receive
   * presence"): an offline subscriber gets no answer and no pushes until it says `available`.
   */
  private subscribe(conn: ServerConnection, to: string | undefined): void {
    const target = to ? this.core.resolveUser(to) : undefined;
    if (!target || !to) return void this.core.log("presence_subscribe_unknown", { session: conn.sessionId, to: to ?? null });
    const jid = parseJid(to)?.server === "lid" ? lidJid(target.lid) : pnJid(target.phone);
    const list = (this.subscribers.get(target.phone) ?? []).filter((s) => s.conn.state === "open" && s.conn !== conn);
    list.push({ conn, jid });
    this.subscribers.set(target.phone, list);
    const online = this.online.has(conn);
    this.core.log("presence_subscribed", { session: conn.sessionId, to: target.phone, online });
    const current = online ? this.presenceFor(target.phone, conn.account!.phone, jid, true) : undefined;
    if (current) conn.send(current);
  }

  /** `<presence type=unsubscribe to>` (whatsapp-rust `unsubscribe`): no more pushes to this socket. */
  private unsubscribe(conn: ServerConnection, to: string | undefined): void {
    const target = to ? this.core.resolveUser(to) : undefined;
    if (!target) return;
    this.subscribers.set(target.phone, (this.subscribers.get(target.phone) ?? []).filter((s) => s.conn !== conn));
    this.core.log("presence_unsubscribed", { session: conn.sessionId, to: target.phone });
  }

  /**
   * The `<presence>` `viewer` gets about `owner`: no `type` when online (whatsmeow reads an absent
   * type as available), `type=unavailable` with `last` (or `deny`) when not. When the owner hides
   * being online from the viewer, a push is not sent and a subscription's answer says unavailable.
   */
  private presenceFor(owner: string, viewer: string, jid: string, answer = false): BinaryNode | undefined {
    if (isBlocked(this.core, owner, viewer)) return undefined;
    const { state, last_seen } = this.presenceOf(owner);
    const online = canSeeOnline(this.core, owner, viewer);
    if (!online && !answer) return undefined;
    if (state === "available" && online) return node("presence", { from: jid });
    const last = !canSeeLastSeen(this.core, owner, viewer) ? "deny" : last_seen ? String(last_seen) : undefined;
    return node("presence", { from: jid, type: "unavailable", last });
  }
}
