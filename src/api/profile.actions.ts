import type { AuthContext } from "./auth";
import { ApiError } from "./errors";
import { peopleCall, peopleError } from "./people.call";
import type { Changed, ProfileOp } from "../session/profile.types";

// A change of several fields made one WhatsApp request at a time: a failure part-way becomes the
// error envelope with `details.applied` (the fields already changed), as group PATCH answers.

export async function changeCall<T>(env: Env, auth: AuthContext, sessionParam: string, op: ProfileOp): Promise<T> {
  const answer = await peopleCall<Changed<T>>(env, auth, sessionParam, op);
  if (answer.done) return answer.value;
  const base = peopleError(answer.failure);
  const details = Array.isArray(base.details) ? {} : base.details;
  throw new ApiError(base.status, base.code, base.message, { ...details, applied: answer.applied });
}
