/** A driver error with the HTTP status the API should map it to. */
export class SandboxError extends Error {
  constructor(message: string, readonly status: 404 | 409 | 422) {
    super(message);
    this.name = "SandboxError";
  }
}
