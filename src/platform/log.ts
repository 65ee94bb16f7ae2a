import type { ILogger } from "baileys/lib/Utils/logger.js";

// A small logger in the shape Baileys expects (pino's level names), writing JSON lines to the
// console (Workers logs). Default "warn": Baileys is very chatty at info.

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
export type LogLevel = keyof typeof LEVELS;

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && value in LEVELS;
}

export function createLogger(level: LogLevel = "warn", bindings: Record<string, unknown> = {}): ILogger {
  const threshold = LEVELS[level];
  const write = (name: Exclude<LogLevel, "silent">) => (obj: unknown, msg?: string) => {
    if (LEVELS[name] < threshold) return;
    const fields = typeof obj === "object" && obj !== null ? obj : { msg: obj };
    const line = JSON.stringify({ level: name, ...bindings, ...fields, ...(msg ? { msg } : {}) }, errorReplacer);
    if (LEVELS[name] >= LEVELS.error) console.error(line);
    else if (LEVELS[name] >= LEVELS.warn) console.warn(line);
    else console.log(line);
  };
  return {
    level,
    child: (obj) => createLogger(level, { ...bindings, ...obj }),
    trace: write("trace"),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === "bigint") return value.toString();
  return value;
}

/**
 * The project's logger: one JSON line per call, pino-style (`log.warn({ session, err }, "what happened")`).
 * Errors in fields are written with name, message and stack. Never log secrets or message content.
 */
export const log = createLogger("info");
