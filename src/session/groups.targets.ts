import { getBinaryNodeChild, getBinaryNodeChildren, jidNormalizedUser, type BinaryNode, type GroupParticipant } from "baileys";
import { phoneToJid } from "../domain/phone";
import { lidOf, participantView, phoneOf } from "./groups.view";

// Naming participants. The API takes a phone number or a LID (`…@lid`); WhatsApp wants each
// member by the id the group lists it under (a LID in LID-addressed groups), and answers per
// participant under either form (`jid`, with `phone_number` or `lid` beside it). Every result
// carries both forms as far as they are known; a LID never stands in for a number.

/** One participant asked for: its known forms, and the jid the query names it by. */
export interface Target {
  phone_number: string | null;
  lid: string | null;
  jid: string;
}

/** A name as the API validated it: digits (a number) or `…@lid`. */
function named(name: string): { phone_number: string | null; lid: string | null } {
  return name.endsWith("@lid") ? { phone_number: null, lid: name } : { phone_number: name, lid: null };
}

/** Numbers to add: asked for by their phone-number jid. */
export const phoneTargets = (phones: string[]): Target[] => phones.map((p) => ({ phone_number: p, lid: null, jid: phoneToJid(p) }));

/** A member's target: the id the group lists it under. */
export function memberTarget(p: GroupParticipant): Target {
  const view = participantView(p);
  return { phone_number: view.phone_number, lid: view.lid, jid: p.id };
}

/**
 * Names looked up among the group's members (or join requesters): a known one is asked for by
 * its own id; an unknown one by its number's jid (or its LID), for WhatsApp to refuse.
 */
export function targetsAmong(members: GroupParticipant[], names: string[]): Target[] {
  const views = members.map(memberTarget);
  const targets = names.map((name) => {
    const asked = named(name);
    const found = views.find((v) => (asked.phone_number ? v.phone_number === asked.phone_number : v.lid === asked.lid));
    return found ?? { ...asked, jid: asked.phone_number ? phoneToJid(asked.phone_number) : asked.lid! };
  });
  // A member named twice (by number and by LID) is asked for once.
  return targets.filter((t, i) => targets.findIndex((u) => u.jid === t.jid) === i);
}

/** One participant node of an answer: who (in every form given), WhatsApp's error code, the add request. */
export interface ParticipantOutcome {
  jid: string | null;
  phone: string | null;
  lid: string | null;
  error: number | null;
  addRequest: { code: string; expiration: number } | null;
}

export function participantOutcome(p: BinaryNode): ParticipantOutcome {
  const jid = p.attrs.jid ? jidNormalizedUser(p.attrs.jid) : null;
  const error = p.attrs.error && p.attrs.error !== "200" ? Number(p.attrs.error) : null;
  const request = getBinaryNodeChild(p, "add_request");
  const code = request?.attrs.code;
  return {
    jid,
    phone: phoneOf(p.attrs.jid) ?? phoneOf(p.attrs.phone_number),
    lid: lidOf(p.attrs.jid) ?? lidOf(p.attrs.lid),
    error: error !== null && Number.isFinite(error) ? error : null,
    addRequest: code ? { code, expiration: Number(request?.attrs.expiration ?? 0) || 0 } : null,
  };
}

/** The participant nodes of a `<group>` (create) or `<add>`/`<remove>`/… (participants) answer. */
export const outcomesOf = (parent: BinaryNode | undefined): ParticipantOutcome[] =>
  getBinaryNodeChildren(parent, "participant").map(participantOutcome);

const sameAs = (o: ParticipantOutcome, t: Target): boolean =>
  (o.jid !== null && o.jid === jidNormalizedUser(t.jid)) || (o.phone !== null && o.phone === t.phone_number) || (o.lid !== null && o.lid === t.lid);

/**
 * Each target's outcome, matched by jid, number or LID. An outcome naming nobody asked for by
 * number (the creator in a create answer) is nobody's; one known only by an unmatched LID goes
 * to the next target still without an answer.
 */
export function matchOutcomes(targets: Target[], outcomes: ParticipantOutcome[]): (ParticipantOutcome | undefined)[] {
  const matched: (ParticipantOutcome | undefined)[] = targets.map(() => undefined);
  const unnamed: ParticipantOutcome[] = [];
  for (const o of outcomes) {
    const i = targets.findIndex((t, j) => matched[j] === undefined && sameAs(o, t));
    if (i >= 0) matched[i] = o;
    else if (o.phone === null) unnamed.push(o);
  }
  return matched.map((o) => o ?? unnamed.shift());
}
