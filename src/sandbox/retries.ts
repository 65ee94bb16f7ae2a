import { Buffer } from "node:buffer";
import type { MessageContent } from "./content";
import { SandboxError } from "./errors";
import { isGroupJid } from "./groups";
import { senderAttrs } from "./lids";
import { rowFields } from "./phone-side";
import type { ServerCore } from "./server.core";
import { node, unixNow } from "./stanzas";
import type { MessageRow, PhoneRow } from "./world.store";

// A phone that cannot decrypt a message it received asks the sending device for it again with a
// retry receipt (whatsmeow retry.go sendRetryReceipt; Baileys messages-recv.js sendRetryRequest),
// which the server hands to that device. The sender re-encrypts the original under the same id;
// the phone's inbox row shows the count and whether the resend opened. docs/protocol/sending.md.

/** Kept in the inbox row's `extra` JSON next to the message's own fields. */
export interface RetryState {
  retry_count: number;
  /** Asked for again and no resend opened since ("Waiting for this message"). */
  awaiting_resend: boolean;
  /** Epoch ms of the last resend that opened. */
  resent_at: number | null;
}

export function retryStateOf(m: Pick<MessageRow, "extra">): RetryState {
  const extra = (m.extra ? JSON.parse(m.extra) : {}) as Partial<RetryState>;
  return { retry_count: extra.retry_count ?? 0, awaiting_resend: extra.awaiting_resend ?? false, resent_at: extra.resent_at ?? null };
}

function withRetry(extraJson: string | null, state: RetryState): string {
  return JSON.stringify({ ...(extraJson ? JSON.parse(extraJson) : {}), ...state });
}

/** 4-byte big-endian registration id, as in `<registration>` (whatsmeow; Baileys encodeBigEndian). */
function registrationBytes(regId: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(regId >>> 0);
  return b;
}

/**
 * The phone asks again for messages it received: each row forgets its content until a resend
 * opens, and the sending device gets `<receipt type="retry"><retry count id t v="1"/><registration/>`.
 * `sent: false` when the message came from a phone (no linked device to ask).
 */
export function sendRetryReceipts(core: ServerCore, owner: PhoneRow, ids: string[]): { id: string; retry_count: number; sent: boolean }[] {
  const rows = ids.map((id) => {
    const m = core.store.message(owner.phone, id, "in");
    if (!m) throw new SandboxError(`phone ${owner.phone} has no received message ${id}`, 404);
    if (isGroupJid(m.chat_jid)) throw new SandboxError(`retry receipts for group messages are not simulated (${id})`, 422);
    return m;
  });
  return rows.map((m) => {
    const state = { ...retryStateOf(m), awaiting_resend: true };
    state.retry_count += 1;
    core.store.sql.run(
      "UPDATE messages SET text = NULL, caption = NULL, extra = ? WHERE owner = ? AND id = ? AND direction = 'in'",
      withRetry(m.extra, state),
      owner.phone,
      m.id,
    );
    const device = m.from_device;
    const sent = device !== null && device !== 0;
    if (sent) {
      // From the phone as WhatsApp addresses it (a LID-addressed phone: its LID, the number beside it).
      core.deliver(m.peer, device, node("receipt", { ...senderAttrs(owner), id: m.id, t: String(unixNow()), type: "retry" }, [
        node("retry", { count: String(state.retry_count), id: m.id, t: String(Math.floor(m.timestamp / 1000)), v: "1" }),
        node("registration", {}, registrationBytes(owner.reg_id)),
      ]));
    }
    core.log("retry_receipt", { id: m.id, owner: owner.phone, to: m.peer, device: m.from_device, count: state.retry_count, sent });
    return { id: m.id, retry_count: state.retry_count, sent };
  });
}

/**
 * A message the client sent again under the id of one the phone asked for: the inbox row takes
 * the resent content. Returns false (store it as new) when the phone was not waiting for it.
 */
export function takeResend(core: ServerCore, owner: PhoneRow, id: string, content: MessageContent): boolean {
  const prior = core.store.message(owner.phone, id, "in");
  if (!prior || !retryStateOf(prior).awaiting_resend) return false;
  const f = rowFields(content);
  const state = { ...retryStateOf(prior), awaiting_resend: false, resent_at: Date.now() };
  core.store.sql.run(
    "UPDATE messages SET type = ?, text = ?, caption = ?, media_sha256 = ?, mimetype = ?, media_ref = ?, extra = ? WHERE owner = ? AND id = ? AND direction = 'in'",
    f.type, f.text, f.caption, f.media_sha256, f.mimetype, f.media_ref, withRetry(f.extra, state), owner.phone, id,
  );
  core.log("message_resent", { id, to: owner.phone, count: state.retry_count });
  return true;
}
