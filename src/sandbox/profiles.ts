import { random } from "./crypto";
import type { WorldStore } from "./world.store";

// A phone's profile as WhatsApp's servers hold it: about text (and when it was set), picture,
// business flag (world schema step 6). Only storage here: who may see what (privacy) and what is
// sent to whom is decided by the handlers that use it (profile.handler.ts, profile.read.handler.ts).

export interface PhoneProfile {
  phone: string;
  /** The name the phone was created with (phones.name); its devices' later push names are app state (appstate.view.ts). */
  name: string;
  /** null: never set; "" cleared. */
  about: string | null;
  /** ms since epoch, when the about text was last set; null when never. */
  about_at: number | null;
  business: boolean;
  /** The current picture's id (what `<picture id>` carries); null when none. */
  picture_id: string | null;
  picture_at: number | null;
}

export interface PhonePicture {
  picture_id: string;
  data: Uint8Array;
  updated_at: number;
}

/** The profile of a phone the world has; undefined when there is no such phone. */
export function profileOf(world: WorldStore, phone: string): PhoneProfile | undefined {
  const row = world.sql.one<{ phone: string; name: string; about: string | null; about_at: number | null; business: number; picture_id: string | null; updated_at: number | null }>(
    `SELECT p.phone, p.name, p.about, p.about_at, p.business, pp.picture_id, pp.updated_at
       FROM phones p LEFT JOIN phone_pictures pp ON pp.phone = p.phone WHERE p.phone = ?`, phone);
  if (!row) return undefined;
  return {
    phone: row.phone,
    name: row.name,
    about: row.about,
    about_at: row.about_at === null ? null : Number(row.about_at),
    business: !!row.business,
    picture_id: row.picture_id,
    picture_at: row.updated_at === null ? null : Number(row.updated_at),
  };
}

/** Sets the about text ("" clears it; null: back to never set); `at` is when. */
export function setAbout(world: WorldStore, phone: string, about: string | null, at = Date.now()): void {
  world.sql.run(`UPDATE phones SET about = ?, about_at = ? WHERE phone = ?`, about, about === null ? null : at, phone);
}

/** The push name the server shows as `notify` on the phone's messages (a device's `<presence name>`). */
export function setPushName(world: WorldStore, phone: string, name: string): void {
  world.sql.run("UPDATE phones SET name = ? WHERE phone = ?", name, phone);
}

export function setBusiness(world: WorldStore, phone: string, business: boolean): void {
  world.sql.run(`UPDATE phones SET business = ? WHERE phone = ?`, business ? 1 : 0, phone);
}

/** Stores a new picture (a JPEG, checked by the caller) and returns its id: a fresh number, as WhatsApp's ids are. */
export function putPicture(world: WorldStore, phone: string, jpeg: Uint8Array, at = Date.now()): string {
  const id = String(random(4).readUInt32BE(0));
  world.sql.run(`INSERT OR REPLACE INTO phone_pictures (phone, picture_id, data, updated_at) VALUES (?,?,?,?)`, phone, id, jpeg, at);
  return id;
}

/** Removes the picture; whether there was one. */
export function removePicture(world: WorldStore, phone: string): boolean {
  const had = !!pictureOf(world, phone);
  world.sql.run(`DELETE FROM phone_pictures WHERE phone = ?`, phone);
  return had;
}

export function pictureOf(world: WorldStore, phone: string): PhonePicture | undefined {
  const row = world.sql.one<{ picture_id: string; data: Uint8Array; updated_at: number }>(`SELECT picture_id, data, updated_at FROM phone_pictures WHERE phone = ?`, phone);
  return row ? { picture_id: row.picture_id, data: new Uint8Array(row.data), updated_at: Number(row.updated_at) } : undefined;
}
