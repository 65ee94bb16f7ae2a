import { type BinaryNode, node } from "./stanzas";

export type FaultKind = "drop" | "logout" | "ban" | "replaced" | "delay_acks" | "refuse_acks" | "normal_acks";
export const FAULT_KINDS: FaultKind[] = ["drop", "logout", "ban", "replaced", "delay_acks", "refuse_acks", "normal_acks"];

// What the real server sends, and what Baileys maps it to (Utils/generics.js getErrorCodeFromStreamError,
// Socket/socket.js CB:failure):
/** Linked device removed from the phone: stream error 401 → DisconnectReason.loggedOut. */
export const deviceRemoved = (): BinaryNode => node("stream:error", { code: "401" }, [node("conflict", { type: "device_removed" })]);
/** Another socket logged in as the same device: `conflict` → 440 connectionReplaced. */
export const replaced = (): BinaryNode => node("stream:error", {}, [node("conflict", { type: "replaced" })]);
/** Account banned: failure 403 → DisconnectReason.forbidden (also the answer to every later login). */
export const banned = (): BinaryNode => node("failure", { reason: "403", location: "sandbox" });
/** A login for a device the server no longer knows: failure 401 → loggedOut. */
export const unknownDevice = (): BinaryNode => node("failure", { reason: "401", location: "sandbox" });
/** After pairing: 515 → restartRequired; the client reconnects with its new credentials. */
export const restartRequired = (): BinaryNode => node("stream:error", { code: "515" });
