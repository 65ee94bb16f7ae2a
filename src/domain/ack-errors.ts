// What an `error` on the server's ack of a sent message means for the message. The server
// acks every message stanza with `<ack class="message" id … [error=code]>`; an error means it
// refused the message and will not deliver it (Baileys Socket/messages-recv.js handleBadAck;
// whatsmeow send.go reads the same ack's `error`). Sources: docs/protocol/sending.md.

/** 463: a 1:1 message without the privacy (trusted contact) token the server asks for. */
export const ACK_ERROR_NO_TCTOKEN = "463";

/** The `failed` reason for a message the server refused with this ack error code. */
export function ackErrorReason(code: string | number): string {
  const text = String(code);
  if (text === ACK_ERROR_NO_TCTOKEN) return "no_trusted_contact_token";
  return /^\d{1,4}$/.test(text) ? `whatsapp_error_${text}` : "rejected_by_whatsapp";
}
