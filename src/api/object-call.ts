import { rpcErrorMessage, rpcErrorStatus, type RpcErrorStatus } from "../domain/rpc-error";
import { ApiError } from "./errors";

const DEFAULT_CODES: Record<RpcErrorStatus, string> = {
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  410: "gone",
  422: "validation_failed",
  502: "upstream_error",
  503: "unavailable",
};

/**
 * Calls a Durable Object; an error that carries a status (src/domain/rpc-error.ts) becomes
 * that HTTP error with the given code (the object's error kept as its internal cause, logged),
 * anything else stays an internal error.
 */
export async function callObject<T>(fn: () => Promise<T>, codes: Partial<Record<RpcErrorStatus, string>> = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const status = rpcErrorStatus(err);
    if (!status) throw err;
    throw new ApiError(status, codes[status] ?? DEFAULT_CODES[status], rpcErrorMessage(err)).withInternal(err);
  }
}
