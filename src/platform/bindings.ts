// Typed stubs for the project's Durable Objects: the one place that knows how an object is named.

/** One session object per gateway session row (`sessions.id`). */
export function sessionStub(env: Pick<Env, "SESSION">, sessionRowId: string) {
  return env.SESSION.get(env.SESSION.idFromName(sessionRowId));
}

/** One sandbox WhatsApp per account. */
export function sandboxStub(env: Pick<Env, "SANDBOX_WORLD">, accountId: string) {
  return env.SANDBOX_WORLD.get(env.SANDBOX_WORLD.idFromName(accountId));
}

/** The recovery object is a singleton: its name is fixed. */
export const RECOVERY_NAME = "recovery";

export function recoveryStub(recovery: NonNullable<Env["RECOVERY"]>) {
  return recovery.get(recovery.idFromName(RECOVERY_NAME));
}
