import { z } from "zod";
import { sandboxStub } from "../platform/bindings";
import { PhoneNumber } from "../sandbox/driver.schemas";
import { ApiError } from "./errors";
import { callObject } from "./object-call";

// What the sandbox driver's route files share: the account's sandbox object, its errors as HTTP
// errors, the answer envelope, the phone path parameter.

export const PhoneParams = z.object({ phone_number: PhoneNumber });
export const envelope = <S extends z.ZodRawShape>(shape: S) => z.object({ success: z.literal(true), ...shape });

export function sandbox(env: Env, accountId: string) {
  if (env.SANDBOX === "off") throw new ApiError(404, "sandbox_disabled", "The sandbox is disabled in this deployment.");
  return sandboxStub(env, accountId);
}

/** Sandbox errors carry their HTTP status; anything else stays an internal error. */
export const drive = <T>(fn: () => Promise<T>) => callObject(fn, { 403: "not_group_admin", 409: "sandbox_conflict" });
