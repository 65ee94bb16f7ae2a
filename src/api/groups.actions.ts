import type { AuthContext } from "./auth";
import { normalizePhone } from "../domain/phone";
import { sessionStub } from "../platform/bindings";
import type { GroupAnswer, GroupFailure, GroupOp, GroupValue } from "../session/groups.types";
import { ApiError } from "./errors";
import { LID } from "./groups.schemas";
import { callObject } from "./object-call";
import { loadSession } from "./session-lookup";

// The work under the group routes: the account's session (another account's → 404), one call to
// its object, and WhatsApp's refusal turned into the error envelope.

type Value<K extends GroupValue["kind"]> = Extract<GroupValue, { kind: K }>;

export function failureError(failure: GroupFailure): ApiError {
  const whatsapp = failure.whatsapp ? { whatsapp_code: failure.whatsapp.code, whatsapp_text: failure.whatsapp.text } : {};
  const applied = failure.applied ? { applied: failure.applied } : {};
  const details = failure.whatsapp || failure.applied ? { ...whatsapp, ...applied } : [];
  return new ApiError(failure.status, failure.code, failure.message, details);
}

/** Runs `op` on the session's object; answers the value of the expected kind. */
export async function groupCall<K extends GroupValue["kind"]>(env: Env, auth: AuthContext, sessionParam: string, op: GroupOp, kind: K): Promise<Value<K>> {
  const row = await loadSession(env, auth.account.id, sessionParam);
  const stub = sessionStub(env, row.id);
  // Typed by hand: RPC's promise types do not keep a union apart.
  const answer = await callObject(async () => (await stub.groups(op)) as GroupAnswer, { 409: "session_not_connected" });
  if (!answer.ok) throw failureError(answer.failure);
  if (answer.value.kind !== kind) throw new Error(`group ${op.op} answered ${answer.value.kind}, not ${kind}`);
  return answer.value as Value<K>;
}

/** Numbers as WhatsApp addresses them (LIDs as given), each once; the schema refused anything else. */
export function participantNames(list: string[]): string[] {
  return [...new Set(list.map((n) => (LID.test(n.trim()) ? n.trim() : normalizePhone(n))).filter((n): n is string => !!n))];
}
