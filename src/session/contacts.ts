import { database } from "../db/client";
import { findContact, upsertContacts } from "../db/contacts.repo";
import { toTimestamp } from "../domain/time";
import { forgetWrittenContact } from "./contacts.events";
import { checkNumbers, lookupNumber } from "./contacts.lookup";
import type { BlockChange, BlockedUser, ContactOp, ContactProfile, SavedContact } from "./contacts.types";
import { lidOf, phoneOf } from "./groups.view";
import { PeopleRefusal } from "./people.errors";
import type { PeopleContext } from "./people.types";

// A session's contact operations over Baileys' socket: who is on WhatsApp (usync), one person's
// profile (usync status, w:profile:picture, w:biz), saving a name through app state
// (critical_unblock_low `contact` mutation, as the phone's address book does) and the blocklist.

export async function runContactOp(ctx: PeopleContext, op: ContactOp): Promise<unknown> {
  switch (op.op) {
    case "check":
      return { results: await checkNumbers(ctx.socket, op.phones) };
    case "get":
      return { contact: await profileOf(ctx, op.phone) };
    case "save":
      return { contact: await saveName(ctx, op.phone, op.name) };
    case "block":
      return { contact: await setBlocked(ctx, op.phone, op.block) };
    case "blocklist":
      return { blocked: await blocklist(ctx) };
  }
}

async function requireOnWhatsApp(ctx: PeopleContext, phone: string): Promise<{ jid: string; lid: string | null }> {
  const found = await lookupNumber(ctx.socket, phone);
  if (!found) throw new PeopleRefusal(404, "contact_not_found", "This number is not on WhatsApp.");
  return found;
}

/** WhatsApp's "no such item" (404) and "not allowed" (401, privacy) both mean: nothing to show. */
async function orNull<T>(read: () => Promise<T | undefined>): Promise<T | null> {
  try {
    return (await read()) ?? null;
  } catch (err) {
    const code = (err as { data?: unknown; output?: { statusCode?: number } }).data ?? (err as { output?: { statusCode?: number } }).output?.statusCode;
    if (code === 404 || code === 401 || code === 403) return null;
    throw err;
  }
}

async function profileOf(ctx: PeopleContext, phone: string): Promise<ContactProfile> {
  const { socket } = ctx;
  const { jid, lid } = await requireOnWhatsApp(ctx, phone);
  const [status, pictureUrl, business, row] = await Promise.all([
    orNull(async () => (await socket.fetchStatus(jid))?.[0]?.status as { status: string | null; setAt: Date } | undefined),
    orNull(() => socket.profilePictureUrl(jid, "image")),
    orNull(() => socket.getBusinessProfile(jid)),
    findContact(database(ctx.env), ctx.config.id, phone),
  ]);
  const setAt = status?.status && status.setAt.getTime() > 0 ? toTimestamp(status.setAt) : null;
  return {
    phone_number: phone,
    lid: lid ?? row?.lid ?? null,
    on_whatsapp: true,
    name: row?.name ?? null,
    push_name: row?.pushName ?? null,
    about: status?.status || null,
    about_set_at: setAt,
    picture_url: pictureUrl,
    business: business !== null,
    business_description: business?.description || null,
  };
}

async function saveName(ctx: PeopleContext, phone: string, name: string): Promise<SavedContact> {
  const { jid, lid } = await requireOnWhatsApp(ctx, phone);
  const firstName = name.split(/\s+/)[0];
  await ctx.socket.addOrEditContact(jid, { fullName: name, firstName, ...(lid ? { lidJid: lid } : {}), saveOnPrimaryAddressbook: true });
  await upsertContacts(database(ctx.env), ctx.config.id, [{ phoneNumber: phone, lid, name }]);
  forgetWrittenContact(ctx.config.id, phone);
  return { phone_number: phone, lid, name };
}

async function setBlocked(ctx: PeopleContext, phone: string, block: boolean): Promise<BlockChange> {
  const { jid, lid } = await requireOnWhatsApp(ctx, phone);
  await ctx.socket.updateBlockStatus(jid, block ? "block" : "unblock");
  return { phone_number: phone, lid, blocked: block };
}

/** The blocklist names LIDs (and sometimes numbers); each LID is mapped to its number when known. */
async function blocklist(ctx: PeopleContext): Promise<BlockedUser[]> {
  const jids = (await ctx.socket.fetchBlocklist()).filter((j): j is string => typeof j === "string");
  const lidStore = ctx.socket.signalRepository.lidMapping;
  const out: BlockedUser[] = [];
  for (const jid of jids) {
    const lid = lidOf(jid);
    const number = phoneOf(lid ? ((await lidStore.getPNForLID(lid).catch(() => null)) ?? undefined) : jid);
    out.push({ phone_number: number, lid });
  }
  return out;
}
