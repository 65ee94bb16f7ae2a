import { generateMessageIDV2, getBinaryNodeChild, type BinaryNode, type WASocket } from "baileys";
// Not re-exported by the package's index; the same module the socket itself uses.
import { extractGroupMetadata } from "baileys/lib/Socket/groups.js";
import { phoneToJid } from "../domain/phone";
import { log } from "../platform/log";
import { refuse } from "./groups.errors";
import { onWhatsApp, settleResults } from "./groups.members";
import { outcomesOf, phoneTargets } from "./groups.targets";
import type { GroupOp, GroupValue } from "./groups.types";
import { groupDetail, meOf, toGroupJid } from "./groups.view";

// Creating a group. The `create` iq is built as Baileys' groupCreate builds it, but sent with
// `query` so its answer's per-participant errors are read (groupCreate keeps only the metadata,
// where a refused participant looks like a member): `<participant jid error="403"><add_request
// code expiration/></participant>` for a contact whose privacy refuses direct adds.
// Once WhatsApp answered, the group exists: nothing after that fails the request (a client
// retrying a failure would make a second group), so the answer is built from the create answer.

export async function createGroup(socket: WASocket, op: Extract<GroupOp, { op: "create" }>): Promise<GroupValue> {
  const known = await onWhatsApp(socket, op.participants);
  const invited = op.participants.filter((p) => known.has(p));
  // Nobody to add: no group is made for the session alone.
  if (invited.length === 0) {
    throw refuse({ status: 422, code: "participants_not_on_whatsapp", message: "None of the participants is on WhatsApp; no group was created." });
  }
  const answer = await socket.query({
    tag: "iq",
    attrs: { type: "set", xmlns: "w:g2", to: "@g.us" },
    content: [{ tag: "create", attrs: { subject: op.name, key: generateMessageIDV2() }, content: invited.map((p) => ({ tag: "participant", attrs: { jid: phoneToJid(p) } })) }],
  });
  const node = getBinaryNodeChild(answer as BinaryNode, "group");
  if (!node?.attrs.id) throw new Error("WhatsApp answered the create query without a group");
  const id = toGroupJid(node.attrs.id);
  const description_set = op.description ? await describe(socket, id, op.description) : null;
  const participants = await settleResults(socket, "add", phoneTargets(op.participants), known, outcomesOf(node), { groupJid: id, groupName: op.name });
  const meta = extractGroupMetadata({ tag: "iq", attrs: {}, content: [membersOnly(node)] });
  if (description_set) meta.desc = op.description;
  return { kind: "created", group: groupDetail(meta, meOf(socket)), participants, description_set };
}

/** Sets the new group's description; a refusal leaves the group without one (reported, not thrown). */
async function describe(socket: WASocket, id: string, description: string): Promise<boolean> {
  try {
    await socket.groupUpdateDescription(id, description);
    return true;
  } catch (err) {
    log.warn({ group: id, err: err instanceof Error ? err.message : String(err) }, "the new group's description was refused");
    return false;
  }
}

/** The `<group>` node without the participants WhatsApp could not add (listed with an `error`). */
function membersOnly(group: BinaryNode): BinaryNode {
  const content = Array.isArray(group.content) ? group.content.filter((c) => !(c.tag === "participant" && c.attrs.error && c.attrs.error !== "200")) : group.content;
  return { ...group, content };
}
