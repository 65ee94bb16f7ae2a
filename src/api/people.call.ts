import type { AuthContext } from "./auth";
import { sessionStub } from "../platform/bindings";
import type { PeopleAnswer, PeopleFailure, PeopleOp } from "../session/people.types";
import { ApiError } from "./errors";
import { callObject } from "./object-call";
import { loadSession } from "./session-lookup";

// The work under the people-and-chats routes that needs WhatsApp: the account's session
// (another account's → 404), one call to its object, and a refusal turned into the error envelope.

export function peopleError(failure: PeopleFailure): ApiError {
  const details = failure.whatsapp ? { whatsapp_code: failure.whatsapp.code, whatsapp_text: failure.whatsapp.text } : [];
  return new ApiError(failure.status, failure.code, failure.message, details);
}

/** Runs `op` on the session's object; answers its value (typed by the caller: RPC keeps no union apart). */
export async function peopleCall<T>(env: Env, auth: AuthContext, sessionParam: string, op: PeopleOp): Promise<T> {
  const row = await loadSession(env, auth.account.id, sessionParam);
  const stub = sessionStub(env, row.id);
  const answer = await callObject(async () => (await stub.people(op)) as PeopleAnswer, { 409: "session_not_connected" });
  if (!answer.ok) throw peopleError(answer.failure);
  return answer.value as T;
}
