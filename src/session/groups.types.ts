import type { WASocket } from "baileys";

// What the API asks the session object to do with groups (one RPC, `groups(op)`), and what it
// answers: plain JSON in the API's own field names, so nothing of Baileys crosses the RPC.

export type ParticipantAction = "add" | "remove" | "promote" | "demote";
export type RequestAction = "approve" | "reject";

export type GroupOp =
  | { op: "list" }
  | { op: "get"; id: string }
  | { op: "create"; name: string; participants: string[]; description?: string }
  | { op: "update"; id: string; changes: GroupChanges }
  /** `participants`: digits-only numbers or, except for `add`, LIDs (`…@lid`); requests_update too. */
  | { op: "participants"; id: string; action: ParticipantAction; participants: string[] }
  | { op: "invite_link"; id: string; reset: boolean }
  | { op: "invite_info"; code: string }
  | { op: "join"; code: string }
  | { op: "requests"; id: string }
  | { op: "requests_update"; id: string; action: RequestAction; participants: string[] }
  | { op: "leave"; id: string }
  | { op: "delete"; id: string };

/** PATCH fields, each applied with its own WhatsApp query in this order. */
export interface GroupChanges {
  name?: string;
  description?: string | null;
  photo_url?: string;
  announce?: boolean;
  locked?: boolean;
  join_approval?: boolean;
}

export type GroupRole = "member" | "admin" | "superadmin";

export interface GroupView {
  id: string;
  name: string;
  description: string | null;
  /** The creator's phone number, and its LID when known (a LID is never put in `owner`). */
  owner: string | null;
  owner_lid: string | null;
  created_at: string | null;
  size: number;
  announce: boolean;
  locked: boolean;
  join_approval: boolean;
  /** The session's own role; null when it is not a member (an invite preview). */
  role: GroupRole | null;
}

export interface ParticipantView {
  phone_number: string | null;
  lid: string | null;
  role: GroupRole;
}

export type GroupDetail = GroupView & { participants: ParticipantView[] };

/**
 * One participant's outcome. `invited`: the contact's privacy refused a direct add, so a group
 * invite message was sent to them instead.
 */
export type ParticipantStatus =
  | "added"
  | "invited"
  | "not_on_whatsapp"
  | "already_member"
  | "removed"
  | "promoted"
  | "demoted"
  | "approved"
  | "rejected"
  | "not_member"
  | "failed";

/** A participant as asked for: by number or by LID; each known form filled in. */
export interface ParticipantResult {
  phone_number: string | null;
  lid: string | null;
  status: ParticipantStatus;
  /** WhatsApp's per-participant error code when it refused this one. */
  whatsapp_code: number | null;
}

export interface JoinRequestView {
  phone_number: string | null;
  lid: string | null;
  requested_at: string | null;
}

export type GroupValue =
  | { kind: "groups"; groups: GroupView[] }
  | { kind: "group"; group: GroupDetail }
  /** `description_set`: null when none was asked for; false when WhatsApp refused it. */
  | { kind: "created"; group: GroupDetail; participants: ParticipantResult[]; description_set: boolean | null }
  /** `left`: false when a removal or the leave itself did not succeed (the session is still in). */
  | { kind: "deleted"; participants: ParticipantResult[]; left: boolean }
  | { kind: "participants"; participants: ParticipantResult[] }
  | { kind: "invite_link"; invite_link: string }
  | { kind: "invite_info"; group: GroupView & { participants: ParticipantView[] } }
  | { kind: "joined"; group_id: string | null; status: "joined" | "requested" }
  | { kind: "requests"; requests: JoinRequestView[] }
  | { kind: "done" };

/** A refusal the API answers as it is (status and code), WhatsApp's own code in details. */
export interface GroupFailure {
  status: 403 | 404 | 409 | 410 | 422 | 429 | 502;
  code: string;
  message: string;
  whatsapp?: { code: number | null; text: string | null };
  /** PATCH: the fields already changed when a later one failed. */
  applied?: string[];
}

export type GroupAnswer = { ok: true; value: GroupValue } | { ok: false; failure: GroupFailure };

/** What a group operation runs with, inside the session object. */
export interface GroupContext {
  env: Env;
  socket: WASocket;
}
