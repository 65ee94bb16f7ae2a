import type { PeopleFailure } from "./people.types";

// A refusal the API turns into its error envelope. Anything else thrown while talking to WhatsApp
// becomes 429 when WhatsApp said so, else 502 with WhatsApp's code.

export class PeopleRefusal extends Error {
  constructor(
    readonly status: PeopleFailure["status"],
    readonly code: string,
    message: string,
    readonly whatsapp?: { code: number; text: string },
  ) {
    super(message);
  }
}

export function peopleFailureOf(err: unknown): PeopleFailure {
  if (err instanceof PeopleRefusal) return { status: err.status, code: err.code, message: err.message, ...(err.whatsapp ? { whatsapp: err.whatsapp } : {}) };
  const boom = err as { data?: unknown; output?: { statusCode?: number }; message?: string };
  const code = typeof boom?.data === "number" ? boom.data : Number(boom?.output?.statusCode) || 0;
  const text = boom?.message ?? String(err);
  if (code === 429) return { status: 429, code: "rate_limited", message: "WhatsApp is limiting this account's requests; try again later.", whatsapp: { code, text } };
  return { status: 502, code: "whatsapp_error", message: "WhatsApp refused or did not answer.", whatsapp: { code, text } };
}
