import {
  aesEncryptCTR,
  bytesToCrockford,
  derivePairingCodeKey,
  getBinaryNodeChild,
  getCompanionPlatformId,
  jidEncode,
  S_WHATSAPP_NET,
  type BinaryNode,
  type WABrowserDescription,
  type WASocket,
} from "baileys";
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import type { SqliteAuthState } from "./auth-state";

// Asking WhatsApp for a pairing code, and hearing its answer. Baileys' requestPairingCode sends
// the `companion_hello` iq without reading the answer and takes the number as its own
// (creds.me) before the server said yes: a refused request (iq error 400 for a platform display
// the server does not accept) would leave a code that can never work and a session that logs in
// as a device never linked. So the iq is built here as Baileys builds it (Socket/socket.js,
// requestPairingCode) and sent with `query`, which waits on its own id; the creds change only
// once the server answered with a `link_code_pairing_ref`.

export type PairingCodeAnswer =
  | { kind: "code"; code: string }
  /** The server answered the iq with an error (code and text as WhatsApp sent them). */
  | { kind: "refused"; code: number | null; text: string | null }
  /** No answer in time (the socket closed, or the server said nothing). */
  | { kind: "unanswered" }
  /** Another pairing-code request of this session is still waiting for its answer. */
  | { kind: "busy" };

/** How long the server may take to answer `companion_hello`; real servers answer at once. */
export const PAIRING_ANSWER_TIMEOUT_MS = 15_000;

export async function requestPairingCode(
  socket: WASocket,
  auth: SqliteAuthState,
  browser: WABrowserDescription,
  phone: string,
  timeoutMs = PAIRING_ANSWER_TIMEOUT_MS,
): Promise<PairingCodeAnswer> {
  const creds = auth.state.creds;
  const code = bytesToCrockford(randomBytes(5));
  const jid = jidEncode(phone, "s.whatsapp.net");
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const key = await derivePairingCodeKey(code, salt);
  const wrapped = Buffer.concat([salt, iv, aesEncryptCTR(creds.pairingEphemeralKeyPair.public, key, iv)]);
  const hello: BinaryNode = {
    tag: "iq",
    attrs: { to: S_WHATSAPP_NET, type: "set", xmlns: "md" },
    content: [
      {
        tag: "link_code_companion_reg",
        attrs: { jid, stage: "companion_hello", should_show_push_notification: "true" },
        content: [
          { tag: "link_code_pairing_wrapped_companion_ephemeral_pub", attrs: {}, content: wrapped },
          { tag: "companion_server_auth_key_pub", attrs: {}, content: creds.noiseKey.public },
          { tag: "companion_platform_id", attrs: {}, content: getCompanionPlatformId(browser) },
          { tag: "companion_platform_display", attrs: {}, content: `${browser[1]} (${browser[0]})` },
          { tag: "link_code_pairing_nonce", attrs: {}, content: "0" },
        ],
      },
    ],
  };
  let answer: BinaryNode | undefined;
  try {
    answer = (await socket.query(hello, timeoutMs)) as BinaryNode | undefined;
  } catch (err) {
    // An `<error>` child comes back as a Boom whose data is its code; a close or a timeout
    // as a Boom without a numeric code.
    const data = (err as { data?: unknown }).data;
    if (typeof data === "number" && Number.isFinite(data)) return { kind: "refused", code: data, text: (err as Error).message || null };
    return { kind: "unanswered" };
  }
  if (!answer) return { kind: "unanswered" };
  // whatsmeow (pair-code.go, PairPhone) reads the ref from this child; anything else is no code.
  if (!getBinaryNodeChild(getBinaryNodeChild(answer, "link_code_companion_reg"), "link_code_pairing_ref")) {
    return { kind: "refused", code: null, text: "answer without link_code_pairing_ref" };
  }
  // Baileys needs both when the phone enters the code (messages-recv.js, primary_hello).
  creds.pairingCode = code;
  creds.me = { id: jid, name: "~" };
  auth.saveCreds();
  socket.ev.emit("creds.update", creds);
  return { kind: "code", code };
}
