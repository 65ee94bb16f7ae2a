// API timestamps: ISO 8601 UTC with six fractional digits ("2024-01-15T10:30:00.000000Z").
export function toTimestamp(date: Date | number): string {
  const iso = new Date(date).toISOString(); // millisecond precision
  return `${iso.slice(0, 23)}000Z`;
}

export function now(): string {
  return toTimestamp(Date.now());
}

/** UTC day (YYYY-MM-DD) used for daily usage counters. */
export function utcDay(date: Date | number = Date.now()): string {
  return new Date(date).toISOString().slice(0, 10);
}

/** Seconds until the next UTC midnight, for Retry-After on daily limits. */
export function secondsUntilNextUtcDay(at: number = Date.now()): number {
  const next = new Date(at);
  next.setUTCHours(24, 0, 0, 0);
  return Math.max(1, Math.ceil((next.getTime() - at) / 1000));
}
