// Rules every user-supplied document must pass before any code treats its keys as object keys
// or stores its strings: no prototype keys (they would reach Object.prototype through a merge or
// an assignment), well-formed UTF-16 and no control characters except tab and line breaks.
// Pure and iterative: nothing here recurses on user input.

import type { z } from "zod";

/** Keys refused anywhere in a query string or JSON body. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

export const isForbiddenKey = (key: string): boolean => FORBIDDEN_KEYS.has(key);

/** Deepest nesting of arrays/objects a JSON body may have. */
export const MAX_JSON_DEPTH = 32;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// C0 controls except \t \n \r, and DEL.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const LINE_BREAK_OR_TAB = /[\t\n\r]/;

export type TextProblem = "lone_surrogate" | "control_character" | "line_break";

/** Why a string may not be stored, or null. `singleLine` also refuses \t, \n and \r. */
export function textProblem(value: string, singleLine = false): TextProblem | null {
  if (LONE_SURROGATE.test(value)) return "lone_surrogate";
  if (CONTROL.test(value)) return "control_character";
  if (singleLine && LINE_BREAK_OR_TAB.test(value)) return "line_break";
  return null;
}

export const TEXT_PROBLEM_MESSAGES: Record<TextProblem, string> = {
  lone_surrogate: "Contains an unpaired UTF-16 surrogate (not valid Unicode text).",
  control_character: "Contains a control character (only tab, line feed and carriage return are allowed).",
  line_break: "Must be a single line (no tab or line break).",
};

/** Names, subjects, file names: one line (a zod string refined by textProblem's single-line rule). */
export const singleLine = <S extends z.ZodString>(schema: S) =>
  schema.refine((value) => textProblem(value, true) === null, TEXT_PROBLEM_MESSAGES.line_break);

/** True when the JSON text nests arrays/objects deeper than `max` (a linear scan, before parsing). */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export interface InputProblem {
  /** Dotted path of the offending key or value, e.g. `messages.0.metadata.__proto__`. */
  path: string;
  code: "forbidden_key" | TextProblem;
  message: string;
}

interface Frame {
  value: unknown;
  key: string | null;
  parent: Frame | null;
}

/** The dotted path of a frame, built only when a problem is reported (keeps the walk linear). */
function pathOf(frame: Frame | null, last?: string): string {
  const parts: string[] = last === undefined ? [] : [last];
  for (let f = frame; f && f.key !== null; f = f.parent) parts.push(f.key);
  return parts.reverse().join(".");
}

/**
 * The first prototype key or unstorable string (keys included) in a parsed document, or null.
 * Iterative and linear, so a deep or wide document cannot exhaust the stack or the CPU.
 */
export function findInputProblem(root: unknown): InputProblem | null {
  const stack: Frame[] = [{ value: root, key: null, parent: null }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { value } = frame;
    if (typeof value === "string") {
      const problem = textProblem(value);
      if (problem) return { path: pathOf(frame), code: problem, message: TEXT_PROBLEM_MESSAGES[problem] };
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], key: String(i), parent: frame });
    } else if (value !== null && typeof value === "object") {
      for (const key of Object.keys(value)) {
        if (isForbiddenKey(key)) {
          return { path: pathOf(frame, key), code: "forbidden_key", message: `The key "${key}" is not allowed anywhere in a request.` };
        }
        const problem = textProblem(key);
        if (problem) return { path: pathOf(frame, key), code: problem, message: `Key: ${TEXT_PROBLEM_MESSAGES[problem]}` };
        stack.push({ value: (value as Record<string, unknown>)[key], key, parent: frame });
      }
    }
  }
  return null;
}
