import { S_WHATSAPP_NET, jidNormalizedUser, type WASocket } from "baileys";
import { downloadMedia, MediaDownloadError } from "./media-download";
import { peopleFailureOf, PeopleRefusal } from "./people.errors";
import type { PeopleContext } from "./people.types";
import { readPrivacy, readStatusPrivacy, setPrivacy } from "./privacy";
import type { Changed, ProfileChanges, ProfileOp, ProfileView } from "./profile.types";
import { phoneOf } from "./groups.view";

// The session's own profile: push name (Baileys updateProfileName: an app-state pushNameSetting
// patch), about text (updateProfileStatus: iq xmlns `status`), picture (iq `w:profile:picture`
// without a target); privacy in privacy.ts.

export async function runProfileOp(ctx: PeopleContext, op: ProfileOp): Promise<unknown> {
  switch (op.op) {
    case "get":
      return { profile: await readProfile(ctx.socket) };
    case "update":
      return updateProfile(ctx, op.changes);
    case "privacy":
      return { privacy: await readPrivacy(ctx.socket) };
    case "set_privacy":
      return setPrivacy(ctx.socket, op.changes);
    case "status_privacy":
      return { status_privacy: await readStatusPrivacy(ctx.socket) };
  }
}

const ownJid = (socket: WASocket): string => jidNormalizedUser(socket.authState.creds.me!.id);

/** WhatsApp's 404 (nothing set) and 401 (hidden) mean: nothing to show. */
async function orNull<T>(read: () => Promise<T | undefined>): Promise<T | null> {
  try {
    return (await read()) ?? null;
  } catch (err) {
    const code = Number((err as { data?: unknown }).data ?? (err as { output?: { statusCode?: number } }).output?.statusCode);
    if (code === 404 || code === 401) return null;
    throw err;
  }
}

async function readProfile(socket: WASocket): Promise<ProfileView> {
  const me = ownJid(socket);
  const [status, pictureUrl] = await Promise.all([
    orNull(async () => (await socket.fetchStatus(me))?.[0]?.status as { status: string | null } | undefined),
    orNull(() => socket.profilePictureUrl(me, "image")),
  ]);
  return { name: socket.authState.creds.me?.name ?? null, about: status?.status || null, picture_url: pictureUrl, phone_number: phoneOf(me) };
}

/** Downloads `url` under the message-media rules; only a JPEG is taken (WhatsApp stores JPEG, and workerd has no encoder). */
async function fetchPicture(env: Env, url: string): Promise<Uint8Array> {
  try {
    const media = await downloadMedia(env, "image", url);
    if (media.mimetype !== "image/jpeg") throw new MediaDownloadError("unsupported_media_type", true, `a profile picture must be a JPEG, not ${media.mimetype}`);
    return media.bytes;
  } catch (err) {
    if (!(err instanceof MediaDownloadError)) throw err;
    throw new PeopleRefusal(422, err.code, `picture_url: ${err.message}.`);
  }
}

/**
 * Each field is its own request, in the order name, about, picture_url; the picture is fetched
 * first, so a bad URL changes nothing. A failure part-way answers what was applied before it.
 */
async function updateProfile(ctx: PeopleContext, changes: ProfileChanges): Promise<Changed<{ profile: ProfileView }>> {
  const { socket } = ctx;
  const picture = typeof changes.picture_url === "string" ? await fetchPicture(ctx.env, changes.picture_url) : undefined;
  const applied: string[] = [];
  const steps: [keyof ProfileChanges, (() => Promise<unknown>) | null][] = [
    ["name", changes.name === undefined ? null : () => socket.updateProfileName(changes.name!)],
    ["about", changes.about === undefined ? null : () => socket.updateProfileStatus(changes.about!)],
    ["picture_url", changes.picture_url === undefined ? null : picture ? () => setOwnPicture(socket, picture) : () => socket.removeProfilePicture(ownJid(socket))],
  ];
  for (const [field, step] of steps) {
    if (!step) continue;
    try {
      await step();
    } catch (err) {
      return { done: false, applied, failure: peopleFailureOf(err) };
    }
    applied.push(field);
  }
  const profile = await readProfile(socket);
  // Baileys learns its own new name from its own patch's event, which may still be buffered.
  return { done: true, value: { profile: changes.name === undefined ? profile : { ...profile, name: changes.name } } };
}

/** Baileys' updateProfilePicture re-encodes with sharp or jimp (not in workerd): the JPEG goes as given, in the iq it builds. */
async function setOwnPicture(socket: WASocket, jpeg: Uint8Array): Promise<void> {
  await socket.query({
    tag: "iq",
    attrs: { to: S_WHATSAPP_NET, type: "set", xmlns: "w:profile:picture" },
    content: [{ tag: "picture", attrs: { type: "image" }, content: jpeg }],
  });
}
