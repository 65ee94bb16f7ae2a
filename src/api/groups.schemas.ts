import { z } from "zod";
import { isGroupId, normalizePhone } from "../domain/phone";
import { singleLine, Timestamp } from "./schemas";
import { SessionIdParams } from "./sessions.schemas";

// Requests and answers of the group routes (groups.routes.ts). Numbers are checked here and
// normalized in groups.actions.ts; a group id is checked against WhatsApp's own form.

export const MAX_PARTICIPANTS = 256;

export const GroupIdParams = SessionIdParams.extend({
  group_id: z
    .string()
    .max(64)
    .refine(isGroupId, "Not a WhatsApp group id (digits, optionally -digits, then @g.us).")
    .meta({ description: "The WhatsApp group id.", example: "120363041234567890@g.us" }),
});

/** A list of 1..MAX_PARTICIPANTS names, each of which `valid` accepts. */
const nameList = (valid: (name: string) => boolean, refusal: string, description: string, example: string[]) =>
  z
    .array(z.string().max(40))
    .min(1)
    .max(MAX_PARTICIPANTS)
    .superRefine((list, ctx) => {
      list.forEach((n, i) => {
        if (!valid(n)) ctx.addIssue({ code: "custom", path: [i], message: refusal });
      });
    })
    .meta({ description, example });

/** A member's LID as WhatsApp writes it (groups that address members by LID). */
export const LID = /^\d{1,30}@lid$/;

const PhoneList = nameList((n) => !!normalizePhone(n), "Not a valid phone number in international format.", "Phone numbers in international format.", [
  "+14155552671",
  "+2290197000000",
]);
const MemberList = nameList(
  (n) => LID.test(n.trim()) || !!normalizePhone(n),
  "Neither a phone number in international format nor a LID (digits@lid).",
  "Phone numbers in international format, or members' LIDs (`…@lid`).",
  ["+14155552671", "123456789012345@lid"],
);

/** add: numbers only (nobody is added by LID). */
export const AddBody = z.object({ participants: PhoneList }).meta({ example: { participants: ["+14155552671", "+2290197000000"] } });
/** remove/promote/demote, approve/reject: numbers or LIDs. */
export const ParticipantsBody = z.object({ participants: MemberList }).meta({ example: { participants: ["+14155552671", "123456789012345@lid"] } });

const Name = singleLine(z.string().trim().min(1).max(100)).meta({ description: "The group's subject (WhatsApp allows 100 characters).", example: "Support team" });
const Description = z.string().max(2048).meta({ description: "Up to 2048 characters.", example: "Questions about orders go here." });

export const CreateGroupBody = z
  .object({ name: Name, participants: PhoneList, description: Description.optional() })
  .meta({ example: { name: "Support team", participants: ["+14155552671"], description: "Questions about orders go here." } });

export const UpdateGroupBody = z
  .object({
    name: Name.optional(),
    description: Description.nullable().optional().meta({ description: "Empty or null removes the description." }),
    photo_url: z
      .string()
      .max(2048)
      .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), "Must be an http or https URL.")
      .optional().meta({ description: "A JPEG the group's picture becomes (fetched like message media; square 640×640 is best)." }),
    announce: z.boolean().optional().meta({ description: "Only admins may send messages." }),
    locked: z.boolean().optional().meta({ description: "Only admins may edit the group's info." }),
    join_approval: z.boolean().optional().meta({ description: "Admins approve who joins by link." }),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), "Give at least one field to change.")
  .meta({ example: { name: "Support team (EU)", announce: true } });

const INVITE_LINK = /^(?:https:\/\/chat\.whatsapp\.com\/)?([A-Za-z0-9]{10,64})$/;

/** The code of an invite link (`https://chat.whatsapp.com/<code>`, or the code alone), or null. */
export function inviteCode(link: string): string | null {
  return INVITE_LINK.exec(link.trim())?.[1] ?? null;
}

const Link = z
  .string()
  .max(200)
  .refine((v) => inviteCode(v) !== null, "Not a WhatsApp group invite link (https://chat.whatsapp.com/<code>).")
  .meta({ example: "https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv" });

export const InviteInfoQuery = z.object({ link: Link });
export const JoinBody = z.object({ link: Link }).meta({ example: { link: "https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv" } });
export const InviteLinkQuery = z.object({
  reset: z
    .enum(["true", "false"])
    .default("false")
    .meta({ description: "true revokes the current link and answers a new one (kept for compatibility: a GET that changes state; prefer POST …/invite-link/reset)." }),
});

// ---- answers ----

const Role = z.enum(["member", "admin", "superadmin"]);

export const GroupSchema = z
  .object({
    id: z.string().meta({ example: "120363041234567890@g.us" }),
    name: z.string(),
    description: z.string().nullable(),
    owner: z.string().nullable().meta({ description: "The creator's phone number; null when WhatsApp gives only its LID." }),
    owner_lid: z.string().nullable().meta({ description: "The creator's LID, when known.", example: "123456789012345@lid" }),
    created_at: Timestamp.nullable(),
    size: z.number().int(),
    announce: z.boolean(),
    locked: z.boolean(),
    join_approval: z.boolean(),
    role: Role.nullable().meta({ description: "The session's own role; null when it is not a member." }),
  })
  .meta({ id: "Group" });

export const ParticipantSchema = z
  .object({ phone_number: z.string().nullable(), lid: z.string().nullable().meta({ example: "123456789012345@lid" }), role: Role })
  .meta({ id: "GroupParticipant" });

export const GroupDetailSchema = GroupSchema.extend({ participants: z.array(ParticipantSchema) }).meta({ id: "GroupDetail" });

export const ParticipantResultSchema = z
  .object({
    phone_number: z.string().nullable(),
    lid: z.string().nullable(),
    status: z.enum(["added", "invited", "not_on_whatsapp", "already_member", "removed", "promoted", "demoted", "approved", "rejected", "not_member", "failed"]).meta({
      description: "`invited`: the contact's privacy refused a direct add, so a group invite message was sent to them.",
    }),
    whatsapp_code: z.number().int().nullable().meta({ description: "WhatsApp's error code for this participant, when it refused." }),
  })
  .meta({ id: "GroupParticipantResult" });

export const JoinRequestSchema = z.object({ phone_number: z.string().nullable(), lid: z.string().nullable(), requested_at: Timestamp.nullable() }).meta({ id: "GroupJoinRequest" });

const envelope = <T extends z.ZodRawShape>(shape: T) => z.object({ success: z.literal(true), ...shape });
export const GroupsEnvelope = envelope({ groups: z.array(GroupSchema) });
export const GroupEnvelope = envelope({ group: GroupDetailSchema });
export const CreatedEnvelope = envelope({
  group: GroupDetailSchema,
  participants: z.array(ParticipantResultSchema),
  description_set: z.boolean().nullable().meta({ description: "false: WhatsApp refused the description (the group exists without one); null: none was given." }),
});
export const DeletedEnvelope = envelope({
  participants: z.array(ParticipantResultSchema),
  left: z.boolean().meta({ description: "false: a removal or the leave did not succeed, and the session is still in the group." }),
});
export const ResultsEnvelope = envelope({ participants: z.array(ParticipantResultSchema) });
export const InviteLinkEnvelope = envelope({ invite_link: z.string().meta({ example: "https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv" }) });
export const JoinEnvelope = envelope({
  group_id: z.string().nullable(),
  status: z.enum(["joined", "requested"]).meta({ description: "`requested`: the group approves new members; an admin must accept." }),
});
export const RequestsEnvelope = envelope({ requests: z.array(JoinRequestSchema) });
export const LeftEnvelope = envelope({ message: z.string() });
