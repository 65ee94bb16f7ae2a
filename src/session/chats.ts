import type { WAMessageKey } from "baileys";
import { chatKeyOf, saveChatChanges, type ChatChange } from "../db/chats.repo";
import { toTimestamp } from "../domain/time";
import type { ChatOp, ChatOpDone } from "./chats.types";
import type { PeopleContext } from "./people.types";

// A chat's settings change the way the phone app changes them: an app-state patch (Baileys
// chatModify → Utils/chat-utils.js chatModificationToAppPatch; whatsmeow appstate/encode.go
// BuildArchive/BuildPin/BuildMute), then the chat's row in D1. Baileys echoes its own patch as
// chats.update (emitOwnEvents): chats.events.ts writes the same values, so the row ends the same.

export async function runChatOp(ctx: PeopleContext, op: ChatOp): Promise<ChatOpDone> {
  const at = Date.now();
  const change: ChatChange = { chatId: chatKeyOf(op.chat) };
  // The range the action covers: up to now (whatsmeow leaves it optional; Baileys takes a range).
  const upToNow = { lastMessageTimestamp: Math.floor(at / 1000) };
  switch (op.op) {
    case "archive":
      await ctx.socket.chatModify({ archive: op.archived, lastMessages: upToNow }, op.chat);
      change.archived = op.archived;
      // An archived chat is not pinned: the app unpins it with the archive (whatsmeow BuildArchive).
      if (op.archived) {
        await ctx.socket.chatModify({ pin: false }, op.chat);
        change.pinnedAt = null;
      }
      break;
    case "pin":
      await ctx.socket.chatModify({ pin: op.pinned }, op.chat);
      change.pinnedAt = op.pinned ? toTimestamp(at) : null;
      break;
    case "mute":
      // WhatsApp's "forever" is an end time of -1 (whatsmeow BuildMuteAbs).
      await ctx.socket.chatModify({ mute: op.muted ? (op.until ?? -1) : null }, op.chat);
      change.muted = op.muted ? { until: op.until === null ? null : toTimestamp(op.until) } : null;
      break;
    case "clear":
      await ctx.socket.chatModify({ clear: true, lastMessages: upToNow }, op.chat);
      change.clearedAt = toTimestamp(at);
      break;
    case "read":
      await sendReadReceipts(ctx, op);
      return { at: toTimestamp(at) };
  }
  await saveChatChanges(ctx.env.DB, ctx.config.id, ctx.config.accountId, [change]);
  return { at: toTimestamp(at) };
}

/**
 * Read receipts as the phone app sends them: `read` through readMessages (which sends `read-self`
 * instead when the account hides read receipts: Socket/messages-send.js), `played` for voice notes
 * listened to (sendReceipt type "played"; whatsmeow receipt.go MarkRead with ReceiptTypePlayed).
 * One receipt per sender in a group (the participant attribute).
 */
async function sendReadReceipts(ctx: PeopleContext, op: Extract<ChatOp, { op: "read" }>): Promise<void> {
  if (!op.messages.length) return;
  if (op.status === "read") {
    const keys: WAMessageKey[] = op.messages.map((m) => ({ remoteJid: op.chat, id: m.id, fromMe: false, ...(m.participant ? { participant: m.participant } : {}) }));
    await ctx.socket.readMessages(keys);
    return;
  }
  const bySender = new Map<string, string[]>();
  for (const m of op.messages) bySender.set(m.participant ?? "", [...(bySender.get(m.participant ?? "") ?? []), m.id]);
  for (const [participant, ids] of bySender) await ctx.socket.sendReceipt(op.chat, participant || undefined, ids, "played");
}
