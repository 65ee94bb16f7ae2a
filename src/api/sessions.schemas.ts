import { z } from "zod";
import { BROWSER_PATTERN, isAndroidBrowser } from "../domain/browser";
import { CONNECTION_MODES, SESSION_STATUSES } from "../domain/session-status";
import { Timestamp, singleLine } from "./schemas";

export const SessionSchema = z
  .object({
    id: z.uuid().meta({ description: "The ID (uuid) of the session." }),
    account_id: z.uuid(),
    session_id: z.string().meta({ example: "session_a3f1b2c4-1234-4abc-9def-000011112222" }),
    name: z.string().nullable(),
    phone_number: z.string().nullable(),
    display_name: z.string().nullable(),
    status: z.enum(SESSION_STATUSES),
    reason: z.string().nullable(),
    banned_until: Timestamp.nullable().meta({
      description: "While temporarily banned (reason temporarily_banned): when WhatsApp said the ban ends; the session reconnects then.",
    }),
    sandbox: z.boolean(),
    connection_mode: z.enum(CONNECTION_MODES),
    browser: z.string().nullable().meta({
      description: 'The "Browser (OS)" this session announces, as set at creation; null when the default applies (the WA_BROWSER setting, else "Chrome (Windows)").',
    }),
    last_seen_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: "Session" });

export const CreateSessionBody = z
  .object({
    name: singleLine(z.string().trim().min(1).max(100)).optional(),
    sandbox: z.boolean().default(false).meta({ description: "Link to the account's sandbox WhatsApp instead of WhatsApp." }),
    connection_mode: z.enum(CONNECTION_MODES).optional().meta({
      description: "persistent keeps the socket open; on_demand opens it for work and sleeps between bursts.",
    }),
    idle_timeout_seconds: z.number().int().min(1).max(3600).optional().meta({
      description: "on_demand: close the socket after this many idle seconds (default 60).",
    }),
    wake_interval_seconds: z.number().int().min(5).max(86_400).optional().meta({
      description: "on_demand: wake this often to pull offline messages and receipts (default 900).",
    }),
    qr_timeout_seconds: z.number().int().min(2).max(120).optional().meta({
      description: "How long each QR code lives before the next (default 60).",
    }),
    browser: singleLine(z.string().trim().max(60).regex(BROWSER_PATTERN, 'Use the form "Browser (OS)", e.g. "Chrome (Windows)".'))
      // Baileys would log in as an Android phone, not as a linked browser.
      .refine((v) => !isAndroidBrowser(v), 'The browser part may not name Android; use a desktop browser, e.g. "Chrome (Windows)".')
      .optional()
      .meta({
        description:
          'How the session names itself on the phone\'s Linked devices, "Browser (OS)" (default: the WA_BROWSER setting, "Chrome (Windows)"). ' +
          "WhatsApp refuses pairing codes unless both are a browser and an OS it knows.",
        example: "Firefox (Ubuntu)",
      }),
  })
  // Seed 000 creates a session with no body at all; every field is optional.
  .meta({ example: { name: "Support line", connection_mode: "persistent" } });

export const SessionIdParams = z.object({
  id: z.string().min(1).max(100).meta({ description: "The ID (uuid) or session_id string of the session." }),
});

export const QrQuery = z.object({
  format: z.enum(["png", "raw", "svg", "image"]).default("png").meta({
    description: "png: data URL (default); raw: the QR string; svg: SVG markup; image: the PNG itself.",
  }),
});

export const PairingCodeBody = z
  .object({
    phone_number: z.string().min(1).meta({ description: "The number to link, in international format.", example: "+14155552671" }),
  })
  .meta({ example: { phone_number: "+14155552671" } });
