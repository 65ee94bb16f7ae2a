import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import { random } from "./crypto";
import type { ServerCore } from "./server.core";
import { type BinaryNode, bytesOf, child, lidJid, node, pnJid, serverId, unixNow } from "./stanzas";
import type { PhoneRow } from "./world.store";

// Trusted-contact (privacy) tokens. When a phone first writes to a number, the server hands that
// number's devices a token from the phone (`privacy_token` notification); a restricted account
// (fault `require_tctoken`) must attach it (`<tctoken>`) to 1:1 messages to that phone, or the
// server refuses them with ack error 463 and delivers nothing. Sources: docs/protocol/sending.md.

/** The ack error of a 1:1 message without a valid token (Baileys SERVER_ERROR_CODES.MessageAccountRestriction). */
export const NO_TCTOKEN = "463";

/** The token `issuer` gives `holder`: stable, so the server checks it without storing it. */
export function trustedContactToken(core: ServerCore, issuer: string, holder: string): Buffer {
  let secret = core.store.getMeta("tctoken_secret");
  if (!secret) {
    secret = random(32);
    core.store.setMeta("tctoken_secret", secret);
  }
  return createHmac("sha256", secret).update(`${issuer}>${holder}`).digest();
}

/** Whether `from` ever wrote to `to` (its own copies of what it sent). */
export function hasWritten(core: ServerCore, from: string, to: string): boolean {
  return Boolean(core.store.sql.one<{ n: number }>("SELECT 1 AS n FROM messages WHERE owner = ? AND direction = 'out' AND peer = ? LIMIT 1", from, to));
}

/**
 * `from` wrote to `to` for the first time: each linked device of `to` gets its token, as
 * `<notification type="privacy_token" from sender_lid><tokens><token jid t type="trusted_contact">`.
 */
export function issuePrivacyToken(core: ServerCore, from: PhoneRow, to: PhoneRow): void {
  const t = String(unixNow());
  const token = trustedContactToken(core, from.phone, to.phone);
  for (const c of core.store.activeCompanions(to.phone)) {
    core.deliver(c.phone, c.device, node("notification", { from: pnJid(from.phone), sender_lid: lidJid(from.lid), type: "privacy_token", id: serverId(), t }, [
      node("tokens", {}, [node("token", { jid: pnJid(to.phone), t, type: "trusted_contact" }, token)]),
    ]));
  }
  core.log("privacy_token", { from: from.phone, to: to.phone });
}

/**
 * The 463 check of a restricted session's 1:1 message to `recipient`: true when it may pass.
 * A resend of a message the phone already has (retry receipts) carries no token and passes.
 */
export function tokenAccepted(core: ServerCore, sessionId: string, sender: string, recipient: PhoneRow, stanza: BinaryNode): boolean {
  if (!core.tokenRequired.has(sessionId) || recipient.phone === sender) return true;
  if (core.store.message(recipient.phone, stanza.attrs.id, "in")) return true;
  const attached = bytesOf(child(stanza, "tctoken"));
  return Boolean(attached && attached.equals(trustedContactToken(core, recipient.phone, sender)));
}
