// Durable Object RPC keeps an error's message but not its other properties, so objects put
// the HTTP status an error should map to in front of the message: "[409] The session is …".

export type RpcErrorStatus = 403 | 404 | 409 | 410 | 422 | 502 | 503;

export function rpcError(status: RpcErrorStatus, message: string): Error {
  return new Error(`[${status}] ${message}`);
}

/** The status carried by an RPC error, or undefined for an unexpected error. */
export function rpcErrorStatus(err: unknown): RpcErrorStatus | undefined {
  const m = /^\[(403|404|409|410|422|502|503)\] /.exec(err instanceof Error ? err.message : "");
  return m ? (Number(m[1]) as RpcErrorStatus) : undefined;
}

/** The message without its status prefix. */
export function rpcErrorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^\[\d+\] /, "");
}
