import type { GroupFailure } from "./groups.types";

// WhatsApp's iq errors, as Baileys throws them (`query` → assertNodeErrorFree: a Boom whose
// `data` is the numeric code; extractGroupMetadata: `data` is the error node), become the
// refusals the API answers. Codes as whatsmeow names them (errors.go): 401 not-authorized,
// 403 forbidden (not in the group), 404 item-not-found, 406 not-acceptable (a malformed invite
// code), 409 conflict, 410 gone (a revoked invite code), 419 resource-limit (the group is full),
// 429 rate-overlimit (ErrIQRateOverLimit).

/** A refusal raised inside a group operation; `runGroupOp` answers it as a value. */
export class GroupRefusal extends Error {
  constructor(readonly failure: GroupFailure) {
    super(failure.message);
  }
}

export const refuse = (failure: GroupFailure): GroupRefusal => new GroupRefusal(failure);

export const groupNotFound = (): GroupRefusal =>
  refuse({ status: 404, code: "group_not_found", message: "Group not found, or this session is not a member of it." });

export const notGroupAdmin = (): GroupRefusal =>
  refuse({ status: 403, code: "not_group_admin", message: "Only the group's admins may do this; this session is not an admin of the group." });

/** WhatsApp's numeric error code on a Baileys error, or null when the error is not WhatsApp's answer. */
export function whatsappCode(err: unknown): number | null {
  const data = (err as { data?: unknown } | null)?.data;
  if (typeof data === "number" && Number.isFinite(data)) return data;
  const attr = (data as { attrs?: { code?: string } } | null | undefined)?.attrs?.code;
  return attr && /^\d+$/.test(attr) ? Number(attr) : null;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Any other error of WhatsApp's (or a lost connection): 502 with what WhatsApp said. */
export function upstreamFailure(err: unknown): GroupFailure {
  const code = whatsappCode(err);
  const text = errorText(err);
  return {
    status: 502,
    code: "whatsapp_error",
    message: code === null ? `WhatsApp did not complete the request (${text}).` : `WhatsApp refused the request (${code} ${text}).`,
    whatsapp: { code, text },
  };
}

/** Any error of a group operation as the API answers it: a refusal as raised, WhatsApp's codes mapped. */
export function failureOf(err: unknown): GroupFailure {
  if (err instanceof GroupRefusal) return err.failure;
  const code = whatsappCode(err);
  const whatsapp = { code, text: errorText(err) };
  if (code === 429) return { status: 429, code: "rate_limited", message: "WhatsApp is limiting this account's requests; try again later.", whatsapp };
  if (code === 419) return { status: 409, code: "group_full", message: "The group has reached WhatsApp's member limit.", whatsapp };
  return upstreamFailure(err);
}

/** A failure of a PATCH part-way: the refusal, with the fields already changed. */
export const partlyApplied = (err: unknown, applied: string[]): GroupRefusal => refuse({ ...failureOf(err), applied: [...applied] });

/** A refused invite code (preview or join). */
export function inviteFailure(err: unknown): GroupFailure | null {
  const code = whatsappCode(err);
  const whatsapp = { code, text: errorText(err) };
  if (code === 404 || code === 406) return { status: 404, code: "invite_link_invalid", message: "The invite link is not valid.", whatsapp };
  if (code === 410) return { status: 410, code: "invite_link_revoked", message: "The invite link was revoked.", whatsapp };
  if (code === 409) return { status: 409, code: "already_group_member", message: "The session is already a member of this group.", whatsapp };
  return null;
}

export const isNotFound = (err: unknown): boolean => whatsappCode(err) === 404;
/** 403 on a read: the session is not in the group; 401/403 on a change: not allowed (or not in it). */
export const isForbidden = (err: unknown): boolean => {
  const code = whatsappCode(err);
  return code === 401 || code === 403;
};
