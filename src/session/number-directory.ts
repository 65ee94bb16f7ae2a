import { jidNormalizedUser, type WASocket } from "baileys";
import { phoneToJid } from "../domain/phone";
import { log } from "../platform/log";
import { checkNumbers, lookupNumber } from "./contacts.lookup";

// Whether numbers are on WhatsApp (cached a day in the object's SQLite), and numbers resolved
// ahead of a burst: for the next messages' new numbers, one usync contact query per 50, then one
// device query and one prekey fetch for all of them, so each send finds its devices and Signal
// sessions ready. Without it Baileys' relayMessage asks both per message, inside its key
// transaction, so a burst to new numbers waits three server round trips per number in a row.

// A number's WhatsApp presence is re-checked after this long.
const CONTACT_TTL_MS = 24 * 60 * 60_000;

export class NumberDirectory {
  /** Numbers whose devices and sessions this socket has fetched (Baileys caches them per socket). */
  private ready = new Set<string>();
  private readyOn: WASocket | undefined;

  /** Over the session object's SQLite, once its schema ran (session.schema.ts). */
  constructor(private readonly sql: SqlStorage) {}

  /** Whether `phone` is on WhatsApp: the cached answer, else one usync query (the look-ahead's). */
  async onWhatsApp(socket: WASocket, phone: string): Promise<boolean> {
    const cached = this.cached(phone);
    if (cached !== undefined) return cached;
    const exists = (await lookupNumber(socket, phone)) !== null;
    this.record(phone, exists);
    return exists;
  }

  /** Whether `phone` may still need resolving before a send on this socket. */
  needs(socket: WASocket, phone: string): boolean {
    if (this.readyOn !== socket) return true;
    return !this.ready.has(phone);
  }

  /**
   * Resolves these numbers ahead of their sends, once per socket. Never throws: a number it
   * could not resolve is resolved by its own send, as before.
   */
  async prefetch(socket: WASocket, phones: string[]): Promise<void> {
    if (this.readyOn !== socket) {
      this.ready = new Set();
      this.readyOn = socket;
    }
    const wanted = [...new Set(phones)].filter((p) => !this.ready.has(p));
    if (wanted.length === 0) return;
    for (const p of wanted) this.ready.add(p);
    try {
      const unknown = wanted.filter((p) => this.cached(p) === undefined);
      if (unknown.length > 0) for (const checked of await checkNumbers(socket, unknown)) this.record(checked.phone_number, checked.on_whatsapp);
      // Known numbers whose sessions exist cost nothing here: Baileys answers both from its caches.
      const jids = wanted.filter((p) => this.cached(p) === true).map(phoneToJid);
      if (jids.length === 0) return;
      const me = socket.user?.id ? jidNormalizedUser(socket.user.id) : undefined;
      const devices = await socket.getUSyncDevices(jids, true, false);
      await socket.assertSessions(devices.map((d) => d.jid).filter((jid) => jidNormalizedUser(jid) !== me));
    } catch (err) {
      // Kept as tried: a failing lookup is not asked again before every take on this socket.
      log.warn({ numbers: wanted.length, err }, "resolving numbers ahead failed; each send resolves its own");
    }
  }

  private cached(phone: string): boolean | undefined {
    const row = this.sql.exec<{ on_whatsapp: number; checked_at: number }>("SELECT on_whatsapp, checked_at FROM contacts WHERE phone = ?", phone).toArray()[0];
    if (!row || Date.now() - row.checked_at >= CONTACT_TTL_MS) return undefined;
    return row.on_whatsapp === 1;
  }

  private record(phone: string, exists: boolean): void {
    this.sql.exec("INSERT OR REPLACE INTO contacts (phone, on_whatsapp, checked_at) VALUES (?, ?, ?)", phone, exists ? 1 : 0, Date.now());
  }
}
