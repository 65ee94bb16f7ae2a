/** A driver error with the HTTP status the API should map it to. */
export class SandboxError extends Error {
  constructor(message: string, readonly status: 403 | 404 | 409 | 410 | 422) {
    super(message);
    this.name = "SandboxError";
  }
}
