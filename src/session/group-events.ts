import { WAMessageStubType, type BaileysEventMap, type GroupMetadata, type GroupParticipant, type WAMessage, type WASocket } from "baileys";
import type { GroupChanges, GroupParticipantsEventData, WebhookEventType } from "../domain/webhook-events";
import { log } from "../platform/log";
import type { GroupEventRecord, GroupJournal } from "./group-journal";
import { isMe, meOf } from "./groups.view";
import { lidLookup, nameOf, type LidLookup, type Named } from "./jid-numbers";
import type { SessionMeta } from "./session-state";

// Group notifications become webhook events (docs/webhooks.md). Each w:gp2 (or picture)
// notification reaches us as a stub message in `messages.upsert` (Baileys messages-recv.js
// handleGroupNotification, process-message.js): one per notification, keyed by its id, also
// while Baileys buffers events (from connect to the end of the offline phase). Baileys' own
// `groups.update` / `group-participants.update` events come from these stubs, but its event
// buffer keeps only the first `groups.update` per group (event-buffer.js), so the stubs are read
// instead. The group's metadata for group.joined comes from `groups.upsert` (the `create`
// notification: the session was added, created the group or joined it; whatsmeow JoinedGroup),
// matched with its GROUP_CREATE stub for the id. Members are phone numbers; one known only by its
// LID goes to a `*_lid` field.

type Events = Partial<BaileysEventMap>;
type Joined = GroupMetadata & { author?: string; authorPn?: string };
const Stub = WAMessageStubType;

const PARTICIPANT_ACTIONS: Partial<Record<number, GroupParticipantsEventData["action"]>> = {
  [Stub.GROUP_PARTICIPANT_ADD]: "add",
  [Stub.GROUP_PARTICIPANT_INVITE]: "add",
  [Stub.GROUP_PARTICIPANT_ADD_REQUEST_JOIN]: "add",
  [Stub.GROUP_PARTICIPANT_REMOVE]: "remove",
  [Stub.GROUP_PARTICIPANT_LEAVE]: "remove",
  [Stub.GROUP_PARTICIPANT_PROMOTE]: "promote",
  [Stub.GROUP_PARTICIPANT_DEMOTE]: "demote",
};

const on = (value: string | undefined) => value === "on" || value === "true";

/** The change a settings stub tells (process-message.js reads the same parameters). */
function changesOf(stub: number, params: string[]): GroupChanges | null {
  switch (stub) {
    case Stub.GROUP_CHANGE_SUBJECT:
      return { name: params[0] ?? "" };
    case Stub.GROUP_CHANGE_DESCRIPTION:
      return { description: params[0] ?? null };
    case Stub.GROUP_CHANGE_ANNOUNCE:
      return { announce: on(params[0]) };
    case Stub.GROUP_CHANGE_RESTRICT:
      return { locked: on(params[0]) };
    case Stub.GROUP_MEMBERSHIP_JOIN_APPROVAL_MODE:
      return { join_approval: on(params[0]) };
    case Stub.GROUP_MEMBER_ADD_MODE:
      return { member_add_mode: params[0] === "all_member_add" ? "all_member_add" : "admin_add" };
    case Stub.GROUP_CHANGE_INVITE_LINK:
      return { invite_link_reset: true };
    case Stub.GROUP_CHANGE_ICON:
      return { photo: params.length ? "changed" : "removed" };
    default:
      return null;
  }
}

function parsed<T>(param: string | undefined): T | null {
  try {
    return param ? (JSON.parse(param) as T) : null;
  } catch {
    return null;
  }
}

/** `by` (or `by_lid` when only the LID is known), and the like for other members. */
const named = (field: string, who: Named) => (who.number ? { [field]: who.number } : { [field]: null, [`${field}_lid`]: who.lid });

/** A stable event id per session, notification and event type: a redelivered notification is the same event. */
async function groupEventId(sessionId: string, groupId: string, notificationId: string, type: WebhookEventType): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${sessionId}:${groupId}:${notificationId}`)));
  const hex = [...digest.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `grp_${hex}_${type.slice("group.".length)}`;
}

export class GroupEvents {
  /** `create` notifications' metadata (groups.upsert), until their stub names the notification. */
  private readonly created = new Map<string, Joined>();

  constructor(
    private readonly meta: SessionMeta,
    private readonly journal: GroupJournal,
  ) {}

  /**
   * Notes what groups.upsert says. Called as soon as Baileys emits (before any await): its
   * GROUP_CREATE stub may come in a later emit whose handling overtakes this one's.
   */
  note(events: Events): void {
    for (const group of events["groups.upsert"] ?? []) this.created.set(group.id, group);
  }

  /** The group events in these socket events, journaled and emitted in order. */
  async onEvents(events: Events, socket: WASocket): Promise<void> {
    const config = this.meta.config();
    const messages = events["messages.upsert"]?.messages ?? [];
    if (!config || messages.length === 0) return;
    const lookup = lidLookup(socket);
    const made: GroupEventRecord[] = [];
    for (const msg of messages) {
      try {
        made.push(...(await this.fromStub(config.id, msg, socket, lookup)));
      } catch (err) {
        log.error({ session: config.id, notification: msg.key.id, stub: msg.messageStubType, err }, "group notification not understood");
      }
    }
    await this.journal.add(made);
  }

  private async fromStub(sessionId: string, msg: WAMessage, socket: WASocket, lookup: LidLookup): Promise<GroupEventRecord[]> {
    const group = msg.key.remoteJid;
    const stub = msg.messageStubType;
    const notification = msg.key.id;
    if (!stub || !notification || !group?.endsWith("@g.us")) return [];
    const params: string[] = msg.messageStubParameters ?? [];
    // The actor: the key's participant, but a picture's delete and a `create` (whose key names the
    // owner) carry it in the stub's participant (messages-recv.js processNotification).
    const joined = stub === Stub.GROUP_CREATE ? this.created.get(group) : undefined;
    if (joined) this.created.delete(group);
    const by =
      stub === Stub.GROUP_CREATE
        ? await nameOf(lookup, joined?.author ?? msg.participant, joined?.authorPn)
        : await nameOf(lookup, msg.key.participant ?? msg.participant, msg.key.participantAlt);
    const event = async (type: WebhookEventType, data: Record<string, unknown>): Promise<GroupEventRecord> => ({
      eventId: await groupEventId(sessionId, group, notification, type),
      type,
      data: { session_id: sessionId, group_id: group, ...named("by", by), ...data },
    });

    if (stub === Stub.GROUP_CREATE) return [await event("group.joined", await joinedData(joined, msg, lookup))];
    const action = PARTICIPANT_ACTIONS[stub];
    if (action) {
      const members = params.map((p) => parsed<GroupParticipant>(p)).filter((p): p is GroupParticipant => p !== null && typeof p.id === "string");
      const names = await Promise.all(members.map((p) => nameOf(lookup, p.id, p.phoneNumber, p.lid)));
      const out = [
        await event("group.participants", {
          action,
          participants: names.flatMap((m) => (m.number ? [m.number] : [])),
          participants_lid: names.flatMap((m) => (!m.number && m.lid ? [m.lid] : [])),
        }),
      ];
      // Joining is told by the `create` notification an added member gets; leaving only by this.
      const me = meOf(socket);
      if (action === "remove" && members.some((p) => isMe(p, me))) {
        const self = isMe({ id: msg.key.participant ?? msg.participant ?? "", phoneNumber: msg.key.participantAlt ?? undefined }, me);
        out.push(await event("group.left", { reason: stub === Stub.GROUP_PARTICIPANT_LEAVE || self ? "left" : "removed" }));
      }
      return out;
    }
    if (stub === Stub.GROUP_MEMBERSHIP_JOIN_APPROVAL_REQUEST_NON_ADMIN_ADD) {
      const asker = parsed<{ lid?: string; pn?: string }>(params[0]);
      const who = await nameOf(lookup, asker?.pn, asker?.lid);
      return [await event("group.join_request", { ...named("participant", who), action: params[1] ?? null, method: params[2] ?? null })];
    }
    const changes = changesOf(stub, params);
    return changes ? [await event("group.updated", { changes })] : [];
  }
}

/** group.joined's data: the `create` notification's metadata, else what its stub says (name; owner in the key). */
async function joinedData(meta: Joined | undefined, stub: WAMessage, lookup: LidLookup): Promise<Record<string, unknown>> {
  const owner = meta ? await nameOf(lookup, meta.owner, meta.ownerPn) : await nameOf(lookup, stub.key.participant, stub.key.participantAlt);
  return {
    name: meta?.subject ?? stub.messageStubParameters?.[0] ?? null,
    description: meta?.desc ?? null,
    ...named("owner", owner),
    size: meta ? (meta.size ?? meta.participants?.length ?? null) : null,
  };
}
