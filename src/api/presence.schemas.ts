import { z } from "zod";

// Requests and answers of the presence routes (presence.routes.ts).

export const ChatStateBody = z
  .object({
    state: z.enum(["typing", "recording", "paused"]).meta({
      description: "`typing` (WhatsApp's composing), `recording` (composing audio) or `paused` (stopped). WhatsApp clients drop a typing indicator after a while by themselves; send it again to keep it on.",
    }),
  })
  .meta({ example: { state: "typing" } });

export const OwnPresenceBody = z
  .object({
    state: z.enum(["available", "unavailable"]).meta({ description: "`available`: the account shows online (and read receipts flow as from an active client); `unavailable`: offline, last seen now." }),
  })
  .meta({ example: { state: "available" } });

const envelope = <T extends z.ZodRawShape>(shape: T) => z.object({ success: z.literal(true), ...shape });

export const PresenceSentEnvelope = envelope({
  chat_id: z.string().nullable().meta({ description: "The chat's WhatsApp id; null for the session's own presence.", example: "14155552671@s.whatsapp.net" }),
  state: z.enum(["typing", "recording", "paused", "available", "unavailable", "subscribed"]),
});

export const ChatPresenceEnvelope = envelope({
  chat_id: z.string().meta({ example: "14155552671@s.whatsapp.net" }),
  presences: z
    .array(
      z.object({
        phone_number: z.string().nullable().meta({ description: "Whose presence; null when only `lid` is known." }),
        lid: z.string().nullable(),
        state: z.enum(["available", "unavailable", "typing", "recording", "paused"]),
        last_seen: z.string().nullable().meta({ description: "When last online (ISO time), if the contact's privacy shows it." }),
        at: z.string().meta({ description: "When the session heard it (ISO time)." }),
      }),
    )
    .meta({ description: "The last presence heard per person in the chat (one in a 1:1 chat, each member heard from in a group), most recent last; empty when nothing was heard since the session connected." }),
});
