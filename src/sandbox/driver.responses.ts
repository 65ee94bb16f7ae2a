import { z } from "zod";
import { FAULT_KINDS, type FaultKind } from "./faults";

// The shapes the driver answers (driver.present.ts builds them), for the routes' response schemas.

const Time = z.string().meta({ example: "2024-01-15T10:30:00.000000Z", format: "date-time" });

export const SandboxReceiptPolicyOut = z.object({
  delivered: z.enum(["auto", "manual"]),
  read: z.enum(["auto", "manual"]),
  delivered_delay_ms: z.number().int(),
  read_delay_ms: z.number().int(),
});

export const SandboxPhone = z
  .object({
    phone_number: z.string(),
    jid: z.string(),
    lid: z.string(),
    name: z.string(),
    banned: z.boolean(),
    group_add_privacy: z.enum(["all", "contacts", "none"]).meta({ description: "Who can add this phone to groups directly; the others get an invite instead." }),
    receipt_policy: SandboxReceiptPolicyOut,
    linked_devices: z.array(z.object({
      device: z.number().int(),
      jid: z.string(),
      lid: z.string(),
      session_id: z.string(),
      status: z.enum(["active", "logged_out"]),
      platform: z.string(),
      connected: z.boolean(),
      linked_at: Time,
    })),
    created_at: Time,
  })
  .meta({ id: "SandboxPhone" });

export const SandboxLinkResult = z
  .object({ phone_number: z.string(), name: z.string(), device: z.number().int(), jid: z.string(), lid: z.string(), session_id: z.string() })
  .meta({ id: "SandboxLinkResult" });

export const SandboxSent = z
  .object({
    id: z.string(),
    from: z.string(),
    to: z.string().meta({ description: "A phone number, or the group jid." }),
    type: z.string(),
    timestamp: Time,
    delivered_to_devices: z.number().int(),
    media_sha256: z.string().nullable(),
    file_length: z.number().int().nullable(),
  })
  .meta({ id: "SandboxSent" });

export const SandboxInboxMessage = z
  .object({
    id: z.string(),
    direction: z.enum(["in", "out"]),
    from: z.string(),
    to: z.string(),
    from_device: z.number().int().nullable(),
    chat: z.string(),
    group_jid: z.string().nullable(),
    type: z.string(),
    text: z.string().nullable(),
    caption: z.string().nullable(),
    media_sha256: z.string().nullable(),
    mimetype: z.string().nullable(),
    file_length: z.number().nullable(),
    file_name: z.string().nullable(),
    ptt: z.boolean().nullable(),
    media_status: z.enum(["ok", "missing", "enc_hash_mismatch", "mac_mismatch", "decrypt_failed", "hash_mismatch", "no_key"]).nullable(),
    location: z.object({ latitude: z.number(), longitude: z.number(), name: z.string().nullable(), address: z.string().nullable() }).nullable(),
    contacts: z.array(z.object({ display_name: z.string().nullable(), vcard: z.string().nullable() })).nullable(),
    poll: z.object({ name: z.string(), options: z.array(z.string()), selectable_count: z.number().int() }).nullable(),
    reaction: z.object({ emoji: z.string(), target_id: z.string().nullable() }).nullable(),
    quoted_id: z.string().nullable(),
    mentions: z.array(z.string()),
    participant: z.string().nullable(),
    timestamp: Time,
    delivered_at: Time.nullable(),
    read_at: Time.nullable(),
    revoked_at: Time.nullable(),
    retry_count: z.number().int().meta({ description: "Retry receipts the phone sent for this message (it could not decrypt it)." }),
    awaiting_resend: z.boolean().meta({ description: "Asked for again and not yet resent: the phone shows no content." }),
    resent_at: Time.nullable().meta({ description: "When the last resend arrived and opened." }),
  })
  .meta({ id: "SandboxInboxMessage" });

export const SandboxGroup = z
  .object({
    jid: z.string(),
    subject: z.string(),
    owner: z.string(),
    created_at: Time,
    participants: z.array(z.object({ phone_number: z.string(), jid: z.string(), lid: z.string(), admin: z.enum(["admin", "superadmin"]).nullable() })),
    description: z.string().nullable(),
    announce: z.boolean().meta({ description: "Only admins send." }),
    locked: z.boolean().meta({ description: "Only admins edit the group's info." }),
    join_approval: z.boolean().meta({ description: "Joining by link waits for an admin's approval." }),
    member_add_mode: z.enum(["admin_add", "all_member_add"]),
    invite_code: z.string().nullable().meta({ description: "The current invite link's code, once an admin asked for one." }),
    pending_requests: z.array(z.object({ phone_number: z.string(), method: z.string(), requested_at: Time })),
    add_invites: z
      .array(z.object({ phone_number: z.string(), code: z.string(), expiration: Time, admin: z.string() }))
      .meta({ description: "Invites left for phones whose group-add privacy refused a direct add (the invitee may accept them until they expire)." }),
  })
  .meta({ id: "SandboxGroup" });

export const SandboxJoinResult = z
  .object({
    status: z.enum(["joined", "pending"]).meta({ description: "pending: the group wants an admin's approval; the request waits." }),
    group_jid: z.string(),
  })
  .meta({ id: "SandboxJoinResult" });

/** One participant's outcome, with WhatsApp's per-participant code (200 done). */
export const SandboxParticipantResult = z.object({
  phone_number: z.string(),
  status: z.number().int().meta({ description: "200 done; 403 the phone's privacy refused a direct add (add_request: the invite it gets instead); 404 not on WhatsApp / not in the group / no such request; 409 already a member." }),
  add_request: z.object({ code: z.string(), expiration: Time }).nullable(),
});

export const SandboxParticipantsResult = z.object({
  group_jid: z.string(),
  action: z.enum(["add", "remove", "promote", "demote", "approve", "reject"]),
  participants: z.array(SandboxParticipantResult),
});

export const SandboxInviteLink = z.object({ group_jid: z.string(), code: z.string(), link: z.string() });

export const SandboxReceiptsResult = z.object({
  phone_number: z.string(),
  type: z.enum(["delivered", "read"]),
  receipts: z.array(z.object({ id: z.string(), sent: z.boolean().meta({ description: "false: the message came from no linked device, so nobody is told." }) })),
});

export const SandboxRetryReceiptsResult = z.object({
  phone_number: z.string(),
  receipts: z.array(
    z.object({
      id: z.string(),
      retry_count: z.number().int(),
      sent: z.boolean().meta({ description: "false: the message came from no linked device, so nobody is asked." }),
    }),
  ),
});

export const SandboxFaultResult = z.object({
  session_id: z.string(),
  kind: z.enum(FAULT_KINDS as [FaultKind, ...FaultKind[]]),
  applied: z.literal(true),
});
