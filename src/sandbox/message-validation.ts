import { type BinaryNode, children, node, parseJid } from "./stanzas";

// What the server requires of a client `<message>` before it routes it. A stanza that fails is
// refused as "smax-invalid", code 479: WhatsApp's servers check stanzas against a schema (SMAX) and
// name a failure so (WA Web's WASmaxInSmaxInvalidErrorRequest parses `<error code="479"
// text="smax-invalid"/>`; whatsmeow client.go: 479 "Invalid stanza sent (smax-invalid)"; Baileys
// decode-wa-message.js SERVER_ERROR_CODES.SmaxInvalid). On a message it comes back as the message's
// ack, `<ack class="message" error="479">`, and the message is not delivered. Sources and which
// checks are confirmed: docs/protocol/sandbox.md "Frames and stanzas from the client".

/** The ack error (and bare error stanza code) of a stanza the server's schema refuses. */
export const SMAX_INVALID = "479";

/**
 * `type` of a client message: Baileys (messages-send.js getMessageType) sends all five; whatsmeow
 * (send.go getTypeFromMessage) sends text, media, reaction and poll, never event.
 */
const MESSAGE_TYPES = new Set(["text", "media", "reaction", "poll", "event"]);
/** `<enc type>` a client encrypts with: a Signal message, a prekey message, a sender-key message. */
const ENC_TYPES = new Set(["msg", "pkmsg", "skmsg"]);
/** Servers a message may be addressed to. */
const CHAT_SERVERS = new Set(["s.whatsapp.net", "lid", "g.us", "broadcast", "newsletter", "bot", "hosted", "hosted.lid"]);
const DEVICE_SERVERS = new Set(["s.whatsapp.net", "lid", "hosted", "hosted.lid"]);

const isBytes = (n: BinaryNode) => n.content instanceof Uint8Array && n.content.length > 0;

function chatJidProblem(jid: string | undefined): string | undefined {
  const parsed = parseJid(jid);
  if (!parsed) return "no valid to";
  if (!CHAT_SERVERS.has(parsed.server)) return `to on unknown server ${parsed.server}`;
  if (!parsed.user) return "to without a user";
  if (!/^\d+$/.test(String(parsed.device))) return "to with a bad device";
  return undefined;
}

function encProblem(enc: BinaryNode): string | undefined {
  if (!ENC_TYPES.has(enc.attrs.type ?? "")) return `enc of unknown type ${enc.attrs.type || "(none)"}`;
  if (!isBytes(enc)) return "enc without ciphertext";
  return undefined;
}

/**
 * Why the server's schema refuses this client `<message>`, or undefined when it is well-formed:
 * an `id`, a `to` on a known server, a known `type`, and something to deliver (`<enc>` copies,
 * `<participants><to jid><enc/></to>…`, or `<plaintext>` for a newsletter), each `<enc>` of a
 * known type with its ciphertext.
 */
export function validateClientMessage(stanza: BinaryNode): string | undefined {
  const { id, to, type } = stanza.attrs;
  if (!id) return "no id";
  const toProblem = chatJidProblem(to);
  if (toProblem) return toProblem;
  if (!MESSAGE_TYPES.has(type ?? "")) return `unknown type ${type || "(none)"}`;
  const kids = children(stanza);
  const direct = kids.filter((k) => k.tag === "enc");
  const lists = kids.filter((k) => k.tag === "participants");
  const plaintext = kids.filter((k) => k.tag === "plaintext");
  if (lists.length > 1) return "participants twice";
  const copies = children(lists[0], "to");
  if (lists.length && copies.length === 0) return "participants without a to";
  for (const copy of copies) {
    const device = parseJid(copy.attrs.jid);
    if (!device || !DEVICE_SERVERS.has(device.server) || !device.user) return `participant jid ${copy.attrs.jid || "(none)"} is not a device`;
    const encs = children(copy, "enc");
    if (encs.length !== 1) return `participant ${copy.attrs.jid} with ${encs.length} enc`;
  }
  for (const enc of [...direct, ...copies.flatMap((c) => children(c, "enc"))]) {
    const problem = encProblem(enc);
    if (problem) return problem;
  }
  if (plaintext.length && (!parseJid(to)?.server.startsWith("newsletter") || !plaintext.every(isBytes))) return "plaintext outside a newsletter";
  // A channel reaction is bare: <message to=…@newsletter type="reaction" server_id><reaction [code]/>
  // (Baileys newsletter.js newsletterReactMessage; whatsmeow newsletter.go NewsletterSendReaction).
  const reactions = kids.filter((k) => k.tag === "reaction");
  if (reactions.length) {
    if (type !== "reaction" || parseJid(to)?.server !== "newsletter" || !/^\d+$/.test(stanza.attrs.server_id ?? "")) return "reaction outside a channel message";
    if (reactions.length > 1 || direct.length + copies.length + plaintext.length > 0) return "a channel reaction with other content";
    return undefined;
  }
  if (direct.length + copies.length + plaintext.length === 0) return "nothing to deliver (no enc, participants or plaintext)";
  return undefined;
}

/** The stanza the server sends when a refused stanza has no id to ack (WA Web WABackendHandleError). */
export const smaxInvalidError = (): BinaryNode => node("error", { code: SMAX_INVALID, text: "smax-invalid" });
