import type { GroupPatch } from "./driver.schemas";
import { type GroupAddPrivacy, type PhoneInfo, iso, phoneInfo } from "./driver.present";
import { SandboxError } from "./errors";
import { type GroupInfo, type GroupRow, groupInfo } from "./groups";
import { INVITE_LINK_PREFIX, codeOfLink, inviteCode, joinByCode, joinRequests, answerRequests, setJoinApproval } from "./groups.invites";
import { GroupOpError, type ParticipantAction, type ParticipantResult, changeParticipants, setDescription, setMemberAddMode, setSetting, setSubject } from "./groups.ops";
import { normalizePhone } from "./phones";
import type { ServerCore } from "./server.core";
import type { PhoneRow } from "./world.store";

// What a simulated phone does in groups on command (the driver API, src/api/sandbox.routes.ts):
// the same operations the linked account's iqs run (groups.ops.ts, groups.invites.ts), so the
// session's devices hear the same w:gp2 notifications.

export interface GroupView extends GroupInfo {
  description: string | null;
  announce: boolean;
  locked: boolean;
  join_approval: boolean;
  member_add_mode: "admin_add" | "all_member_add";
  invite_code: string | null;
  pending_requests: { phone_number: string; method: string; requested_at: string }[];
  add_invites: { phone_number: string; code: string; expiration: string; admin: string }[];
}

export interface ParticipantOutcome {
  phone_number: string;
  status: number;
  add_request: { code: string; expiration: string } | null;
}

/**
 * The server's refusal as the driver's HTTP status: no group 404, not a member 409 (the server's
 * 403 forbidden), not an admin 403 (its 401 not-authorized), the rest by `codes` or 409.
 */
function driverError(err: unknown, codes: Partial<Record<number, [SandboxError["status"], string]>> = {}): unknown {
  if (!(err instanceof GroupOpError)) return err;
  const mapped = codes[err.code];
  if (mapped) return new SandboxError(mapped[1], mapped[0]);
  if (err.code === 404) return new SandboxError("no such group", 404);
  if (err.code === 403) return new SandboxError("the phone is not a member of the group", 409);
  if (err.code === 401) return new SandboxError("the phone is not an admin of the group", 403);
  if (err.code === 400 || err.code === 406) return new SandboxError(`the server refused the change (${err.code} ${err.text})`, 422);
  return new SandboxError(`the server refused it (${err.code} ${err.text})`, 409);
}

/** Runs a group operation for the driver; its refusal becomes the driver's HTTP error. */
export function runGroupOp<T>(fn: () => T, codes?: Parameters<typeof driverError>[1]): T {
  try {
    return fn();
  } catch (err) {
    throw driverError(err, codes);
  }
}

/** The simulated phone a driver call names: 404 when there is none. */
export function requirePhone(core: ServerCore, phoneNumber: string): PhoneRow {
  const phone = normalizePhone(phoneNumber);
  const p = core.store.phone(phone);
  if (!p) throw new SandboxError(`no simulated phone ${phone}`, 404);
  return p;
}

/** The group a driver call names: 404 when there is none. */
export function requireGroup(core: ServerCore, jid: string): GroupRow {
  const g = core.groups.group(String(jid ?? ""));
  if (!g) throw new SandboxError(`no group ${jid}`, 404);
  return g;
}

export class GroupDriver {
  constructor(private readonly core: ServerCore) {}

  private phone(phoneNumber: string): PhoneRow {
    return requirePhone(this.core, phoneNumber);
  }

  private group(jid: string): GroupRow {
    return requireGroup(this.core, jid);
  }

  /** The group as the world sees it: members, settings, the link's code, who waits for approval. */
  view(jid: string): GroupView {
    const g = this.group(jid);
    return {
      ...groupInfo(g, this.core.groups.members(g.jid), this.core.phoneRow, (ms) => iso(ms)!),
      description: g.description || null,
      announce: !!g.announce,
      locked: !!g.locked,
      join_approval: !!g.join_approval,
      member_add_mode: g.member_add_mode ?? "admin_add",
      invite_code: g.invite_code ?? null,
      pending_requests: joinRequests(this.core, g.jid).map((r) => ({ phone_number: r.phone, method: r.method, requested_at: iso(r.requested_at)! })),
      add_invites: this.core.groups.addInvites(g.jid).map((i) => ({ phone_number: i.phone, code: i.code, expiration: iso(i.expiration * 1000)!, admin: i.admin })),
    };
  }

  /** The phone asks to join by link: in at once, or pending when the group wants approval. */
  joinByLink(phoneNumber: string, link: string): { status: "joined" | "pending"; group_jid: string } {
    const p = this.phone(phoneNumber);
    const result = runGroupOp(() => joinByCode(this.core, p.phone, codeOfLink(link)), {
      406: [404, "no group has this invite link"],
      410: [410, "this invite link was revoked"],
      409: [409, `${p.phone} is already a member of the group`],
    });
    return { status: result.status, group_jid: result.group.jid };
  }

  participants(phoneNumber: string, jid: string, action: ParticipantAction, phones: string[]) {
    const p = this.phone(phoneNumber);
    const g = this.group(jid);
    const wanted = phones.map((n) => normalizePhone(n));
    const results = runGroupOp(() => changeParticipants(this.core, p.phone, g.jid, action, wanted));
    return { group_jid: g.jid, action, participants: results.map(outcome) };
  }

  answerRequests(phoneNumber: string, jid: string, action: "approve" | "reject", phones: string[]) {
    const p = this.phone(phoneNumber);
    const g = this.group(jid);
    const results = runGroupOp(() => answerRequests(this.core, p.phone, g.jid, action, phones.map((n) => normalizePhone(n))));
    return { group_jid: g.jid, action, participants: results.map(outcome) };
  }

  /**
   * Each given field through the operation a member's phone would use. Rights are checked for all
   * of them first, so a refused patch changes nothing.
   */
  update(phoneNumber: string, jid: string, patch: GroupPatch): GroupView {
    const p = this.phone(phoneNumber);
    const g = this.group(jid);
    const me = this.core.groups.members(g.jid).find((m) => m.phone === p.phone);
    if (!me) throw new SandboxError(`${p.phone} is not a member of ${g.jid}`, 409);
    const settings = [patch.announce, patch.locked, patch.member_add_mode, patch.join_approval].some((v) => v !== undefined);
    if ((settings || g.locked) && !me.admin) throw new SandboxError(`${p.phone} is not an admin of ${g.jid}`, 403);
    runGroupOp(() => {
      if (patch.subject !== undefined) setSubject(this.core, p.phone, g.jid, patch.subject);
      if (patch.description !== undefined) setDescription(this.core, p.phone, g.jid, patch.description || null);
      if (patch.announce !== undefined) setSetting(this.core, p.phone, g.jid, patch.announce ? "announcement" : "not_announcement");
      if (patch.locked !== undefined) setSetting(this.core, p.phone, g.jid, patch.locked ? "locked" : "unlocked");
      if (patch.member_add_mode !== undefined) setMemberAddMode(this.core, p.phone, g.jid, patch.member_add_mode);
      if (patch.join_approval !== undefined) setJoinApproval(this.core, p.phone, g.jid, patch.join_approval);
    });
    return this.view(g.jid);
  }

  /** An admin phone's invite link (made on first ask; `reset` revokes the old one). */
  inviteLink(phoneNumber: string, jid: string, reset: boolean) {
    const p = this.phone(phoneNumber);
    const g = this.group(jid);
    const code = runGroupOp(() => inviteCode(this.core, p.phone, g.jid, reset));
    return { group_jid: g.jid, code, link: `${INVITE_LINK_PREFIX}${code}` };
  }

  setGroupAddPrivacy(phoneNumber: string, value: GroupAddPrivacy): PhoneInfo {
    const p = this.phone(phoneNumber);
    this.core.groups.setAddPrivacy(p.phone, value);
    return phoneInfo(this.core, this.core.store.phone(p.phone)!);
  }
}

function outcome(r: ParticipantResult | { phone: string; status: number }): ParticipantOutcome {
  const add = "addRequest" in r ? r.addRequest : undefined;
  return { phone_number: r.phone, status: r.status, add_request: add ? { code: add.code, expiration: iso(add.expiration * 1000)! } : null };
}
