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
    lid_addressed: z.boolean().meta({ description: "WhatsApp addresses this phone's chats by LID (messages and receipts from its `…@lid`, its number beside it)." }),
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

// Presence (driver.presence.ts).
export const SandboxPresence = z
  .object({
    phone_number: z.string(),
    state: z.enum(["available", "unavailable"]),
    last_seen: Time.nullable().meta({ description: "When the account was last online (set when it went unavailable); null if never." }),
  })
  .meta({ id: "SandboxPresence" });
export const SandboxChatStateSent = z.object({
  phone_number: z.string(),
  to: z.string(),
  state: z.enum(["typing", "recording", "paused"]),
  devices: z.number().int().meta({ description: "How many connected linked devices it reached (chat states are never kept for later)." }),
});
export const SandboxChatStatesSeen = z.array(
  z.object({
    from: z.string().meta({ description: "The sender's phone number." }),
    chat: z.string().meta({ description: "The chat it was in: the sender's jid (1:1) or the group id." }),
    state: z.enum(["typing", "recording", "paused"]),
    at: Time,
  }),
);

// Contacts (driver.contacts.ts).
export const SandboxPhoneProfile = z.object({
  phone_number: z.string(),
  about: z.string().nullable(),
  business: z.boolean(),
  picture_id: z.string().nullable(),
});
export const SandboxAddressBookEntry = z.object({ phone_number: z.string(), contact: z.string(), name: z.string() });
export const SandboxBlocklist = z.object({ phone_number: z.string(), blocked: z.array(z.object({ phone_number: z.string(), lid: z.string() })) });

// Privacy (driver.privacy.ts): a phone's own profile and privacy as the server holds them.
const ExceptLists = z.object({ last_seen: z.array(z.string()), profile_picture: z.array(z.string()), about: z.array(z.string()), groups_add: z.array(z.string()) });
export const SandboxPhoneProfileView = SandboxPhoneProfile.extend({
  name: z.string().meta({ description: "The phone's push name." }),
  about_set_at: z.string().nullable(),
  picture: z
    .object({ id: z.string(), size: z.number().int(), sha256: z.string().meta({ description: "hex SHA-256 of the stored JPEG" }), set_at: z.string() })
    .nullable(),
  privacy: z.object({
    last_seen: z.string(),
    online: z.string(),
    profile_picture: z.string(),
    about: z.string(),
    read_receipts: z.string(),
    groups_add: z.string(),
    calls: z.string(),
    messages: z.string(),
  }),
  except: ExceptLists.meta({ description: "The people each `contact_blacklist` leaves out." }),
  status_privacy: z.object({ type: z.enum(["contacts", "whitelist", "blacklist"]), contacts: z.array(z.string()) }),
});

// Chats (driver.chats.ts): the phone's app state as it decodes it.
export const SandboxAppState = z
  .object({
    phone_number: z.string(),
    push_name: z.string().nullable().meta({ description: "setting_pushName, when a device set it." }),
    chats: z.array(
      z.object({
        chat: z.string().meta({ description: "The chat's JID as the mutation index names it." }),
        archived: z.boolean(),
        pinned: z.boolean(),
        muted: z.boolean(),
        muted_until: z.string().nullable().meta({ description: "null: not muted, or muted forever (`muted: true`)." }),
        cleared_at: z.string().nullable(),
        read: z.boolean().nullable().meta({ description: "The last markChatAsRead action; null when none." }),
        deleted_at: z.string().nullable(),
      }),
    ),
    contacts: z.array(z.object({ jid: z.string(), full_name: z.string().nullable(), first_name: z.string().nullable() })),
    versions: z.record(z.string(), z.number().int()).meta({ description: "Each collection's version." }),
    problems: z.array(z.string()).meta({ description: "Patches the phone could not verify (left out of the view)." }),
  })
  .meta({ id: "SandboxAppState" });
export const SandboxAppStatePushed = z.object({ collection: z.string(), version: z.number().int() });
