import { random } from "./crypto";
import { SEEDED_PEER_PREFIX } from "./phones";
import { messageId, pnJid } from "./stanzas";
import type { PhoneRow, WorldStore } from "./world.store";

// Driver option `history` on phone creation: a phone that has used WhatsApp for a while, so the
// history it syncs to a linked device has a realistic size (N chats × M messages of everyday text).
// Its contacts are outside the sandbox (numbers no simulated phone has).

export interface HistorySeed {
  chats: number;
  messages_per_chat: number;
}

const WORDS = ("ok yes no maybe later today tomorrow tonight meeting lunch dinner call me when you can see you soon thanks " +
  "sure sounds good on my way running late almost there did you get the file please check the invoice happy birthday " +
  "congrats great news the kids school weekend trip flight hotel price order delivered tracking number photo video").split(" ");

/** Seeds the phone's inbox; returns how many messages it wrote. Spread over the last 30 days, oldest first. */
export function seedHistory(store: WorldStore, phone: PhoneRow, seed: HistorySeed): number {
  const now = Date.now();
  const span = 30 * 86_400_000;
  const bytes = random(seed.chats * seed.messages_per_chat * 3);
  let k = 0;
  const next = () => bytes[k++ % bytes.length];
  let written = 0;
  for (let c = 0; c < seed.chats; c++) {
    // +1 555 200 xxxx, one number per chat: phones.ts refuses this block to simulated phones.
    const peer = `${SEEDED_PEER_PREFIX}${String(c).padStart(4, "0")}`;
    for (let i = 0; i < seed.messages_per_chat; i++) {
      const words = 3 + (next() % 18);
      const text = Array.from({ length: words }, () => WORDS[next() % WORDS.length]).join(" ");
      const at = now - span + Math.floor(((i + 1) / (seed.messages_per_chat + 1)) * span) - c * 1000;
      const out = next() % 2 === 0;
      store.upsertMessage({
        owner: phone.phone, id: messageId(), direction: out ? "out" : "in", peer, chat_jid: pnJid(peer), from_device: 0,
        type: "text", text, caption: null, media_sha256: null, mimetype: null, timestamp: at,
        delivered_at: out ? at + 1000 : null, read_at: out ? at + 5000 : null, extra: null, media_ref: null,
      });
      written++;
    }
  }
  return written;
}
